using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SampleWebApp.Data;
using SampleWebApp.Diagnostics;

namespace SampleWebApp.Pages;

/// <summary>
/// The one page of the sample: which SQL Server, as whom, with which authentication scheme, five random albums,
/// and the Kerberos ticket cache. A database failure is part of the page (HTTP 200), never an error page:
/// the reader needs the driver's message and the usual causes, not a stack trace.
/// </summary>
[ResponseCache(NoStore = true, Location = ResponseCacheLocation.None)]
public sealed class IndexModel(IChinookDataSource dataSource, IConfiguration configuration, ILogger<IndexModel> logger) : PageModel
{
    /// <summary>How many random albums the page lists.</summary>
    public const int AlbumCount = 5;

    /// <summary>SQL Server host from the connection string, or null when there is none.</summary>
    public string? ServerHost { get; private set; }

    /// <summary>What was read from SQL Server, when it worked.</summary>
    public ChinookSnapshot? Snapshot { get; private set; }

    /// <summary>Verdict on the session's auth_scheme, when connected.</summary>
    public AuthSchemeAssessment? Auth { get; private set; }

    /// <summary>What failed, when something did.</summary>
    public ChinookDataException? Failure { get; private set; }

    /// <summary>
    /// The messages of the failure's inner exceptions (e.g. the socket or GSSAPI error under SqlClient's own message),
    /// without repeats. Messages only: stack traces go to the container log.
    /// </summary>
    public IReadOnlyList<string> FailureDetails { get; private set; } = [];

    /// <summary>Causes the evidence points at, when something failed.</summary>
    public IReadOnlySet<FailureCause> LikelyCauses { get; private set; } = new HashSet<FailureCause>();

    /// <summary>The Kerberos ticket cache named by KRB5CCNAME.</summary>
    public TicketCacheStatus TicketCache { get; private set; } = Diagnostics.TicketCache.Inspect(null);

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        ServerHost = dataSource.ServerHost;
        TicketCache = Diagnostics.TicketCache.Inspect(configuration[Diagnostics.TicketCache.VariableName]);
        try
        {
            Snapshot = await dataSource.ReadSnapshotAsync(AlbumCount, cancellationToken);
            Auth = AuthSchemeAssessment.For(Snapshot.AuthScheme);
        }
        catch (ChinookDataException ex)
        {
            Failure = ex;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Anything the data source did not classify is still shown as a failure on the page, not a 500.
            logger.LogError(ex, "Reading Chinook failed unexpectedly");
            Failure = new ChinookDataException(DataFailureStage.Query, ex.Message, ex);
        }

        if (Failure is not null)
        {
            LikelyCauses = FailureCauses.Likely(ServerHost, Failure, TicketCache);
            FailureDetails = InnerMessages(Failure);
        }
    }

    private static List<string> InnerMessages(Exception failure)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { failure.Message };
        var messages = new List<string>();
        for (var inner = failure.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!string.IsNullOrWhiteSpace(inner.Message) && seen.Add(inner.Message))
            {
                messages.Add(inner.Message);
            }
        }

        return messages;
    }

    /// <summary>Words for the step that failed.</summary>
    public static string Describe(DataFailureStage stage) => stage switch
    {
        DataFailureStage.Configuration => "The app has no usable connection string",
        DataFailureStage.Connection => "Connecting or logging in to SQL Server failed",
        _ => "Logged in, but reading the Chinook database failed",
    };
}
