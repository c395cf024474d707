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

    /// <summary>Causes the evidence points at, when something failed.</summary>
    public IReadOnlySet<FailureCause> LikelyCauses => Report.LikelyCauses;

    /// <summary>The Kerberos ticket cache named by KRB5CCNAME.</summary>
    public TicketCacheStatus TicketCache => Report.TicketCache;

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        Report = await reader.ReadAsync(cancellationToken);
    }

    /// <summary>The class of a cause's list item: "likely" when the evidence points at it.</summary>
    public string CauseClass(FailureCause cause) => LikelyCauses.Contains(cause) ? "likely" : "";
}
