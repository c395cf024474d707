using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SampleWebApp.Data;
using SampleWebApp.Diagnostics;

namespace SampleWebApp.Pages;

/// <summary>
/// The one page of the sample: which SQL Server, as whom, with which authentication scheme, random albums,
/// and the Kerberos ticket cache. A database failure is part of the page (HTTP 200), never an error page:
/// the reader needs the driver's message and the usual causes, not a stack trace.
/// </summary>
[ResponseCache(NoStore = true, Location = ResponseCacheLocation.None)]
public sealed class IndexModel(StatusReader reader) : PageModel
{
    /// <summary>What the page shows; set by <see cref="OnGetAsync"/>.</summary>
    public StatusReport Report { get; private set; } = null!;

    /// <summary>SQL Server host from the connection string, or null when there is none.</summary>
    public string? ServerHost => Report.ServerHost;

    /// <summary>What was read from SQL Server, when it worked.</summary>
    public ChinookSnapshot? Snapshot => Report.Snapshot;

    /// <summary>Verdict on the session's auth_scheme, when connected.</summary>
    public AuthSchemeAssessment? Auth => Report.Auth;

    /// <summary>What failed, when something did.</summary>
    public ChinookDataException? Failure => Report.Failure;

    /// <summary>Messages of the failure's inner exceptions worth showing. Messages only: stack traces go to the container log.</summary>
    public IReadOnlyList<string> FailureDetails => Report.FailureDetails;

    /// <summary>The causes that can apply, most likely first, when something failed.</summary>
    public IReadOnlyList<RankedCause> Causes => Report.Causes;

    /// <summary>The Kerberos ticket cache named by KRB5CCNAME.</summary>
    public TicketCacheStatus TicketCache => Report.TicketCache;

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Report = await reader.ReadAsync(cancellationToken);
    }

    /// <summary>The class of a cause's list item: "likely" when the evidence points at it.</summary>
    public static string CauseClass(RankedCause cause) => cause.Likelihood == Likelihood.Likely ? "likely" : "";

    /// <summary>The data-cause attribute of a cause, e.g. <c>server-name</c>.</summary>
    public static string CauseId(FailureCause cause) => cause switch
    {
        FailureCause.ServerName => "server-name",
        _ => cause.ToString().ToLowerInvariant(),
    };

    /// <summary>The SPN the driver asked for (<c>MSSQLSvc/host:port</c>), or null without a host.</summary>
    public string? RequestedSpn => ServerHost is null ? null : FailureCauses.SpnOf(ServerHost, Report.ServerPort);

    /// <summary>The SPN RDS registers for the instance, filled in as far as the page knows the names.</summary>
    public string RdsSpn => FailureCauses.SpnOf(RdsKerberosName, Report.ServerPort);

    /// <summary>The server name to connect to (<c>&lt;db-instance-id&gt;.&lt;directory DNS name&gt;</c>), filled in as far as the page knows.</summary>
    public string RdsKerberosName => FailureCauses.RdsKerberosName(ServerHost, TicketCache.Realm);
}
