using SampleWebApp.Data;

namespace SampleWebApp.Diagnostics;

/// <summary>Everything the page and <c>/api/status</c> show, from one attempt to read the database.</summary>
public sealed record StatusReport(
    string? ServerHost,
    string? DatabaseName,
    TicketCacheStatus TicketCache,
    ChinookSnapshot? Snapshot,
    AuthSchemeAssessment? Auth,
    ChinookDataException? Failure,
    IReadOnlyList<string> FailureDetails,
    IReadOnlyList<RankedCause> Causes,
    int? ServerPort = null)
{
    /// <summary>True only when the session authenticated with Kerberos.</summary>
    public bool Ok => Auth is { Verdict: AuthVerdict.Success };

    /// <summary>
    /// The error number worth showing, with its meaning, or null. 0 is no number at all (SqlClient reports 0 for an
    /// internal socket error, e.g. a refused port), so it is not shown.
    /// </summary>
    public string? ErrorNumberText => Failure?.SqlErrorNumber switch
    {
        null or 0 => null,
        18456 => "18456 (SQL Server: login failed)",
        4060 => "4060 (SQL Server: cannot open the database)",
        11001 => "11001 (network: host name not found)",
        -2 or 258 => $"{Failure.SqlErrorNumber} (timed out)",
        int number => number.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>One line on what went wrong, or null when all is well.</summary>
    public string? Cause
    {
        get
        {
            if (Ok)
            {
                return null;
            }

            if (Auth is not null)
            {
                return Auth.Explanation;
            }

            if (Failure is null)
            {
                return null;
            }

            var likely = Causes.Where(c => c.Likelihood == Likelihood.Likely).Select(c => FailureCauses.Title(c.Cause)).ToList();
            var possible = Causes.Where(c => c.Likelihood == Likelihood.Possible).Select(c => FailureCauses.Title(c.Cause)).ToList();
            return Failure.Stage switch
            {
                DataFailureStage.Configuration or DataFailureStage.TicketCache => $"{StatusReader.Describe(Failure.Stage)}. {Failure.Message}",
                _ when likely.Count > 0 => $"{StatusReader.Describe(Failure.Stage)}. Likely: {string.Join("; ", likely)}.",
                _ when possible.Count > 0 => $"{StatusReader.Describe(Failure.Stage)}. Possible: {string.Join("; ", possible)}.",
                _ => $"{StatusReader.Describe(Failure.Stage)}. {Failure.Message}",
            };
        }
    }
}

/// <summary>Reads the database once and works out what to tell the reader.</summary>
public sealed class StatusReader(IChinookDataSource dataSource, KerberosEnvironment kerberos, ILogger<StatusReader> logger)
{
    /// <summary>How many random albums the page lists.</summary>
    public const int AlbumCount = 5;

    /// <summary>Inspects the ticket cache, reads the database and explains any failure. Never throws but for cancellation.</summary>
    public async Task<StatusReport> ReadAsync(CancellationToken cancellationToken)
    {
        var ticketCache = TicketCache.Inspect(kerberos);
        ChinookSnapshot? snapshot = null;
        AuthSchemeAssessment? auth = null;
        ChinookDataException? failure = null;
        try
        {
            snapshot = await dataSource.ReadSnapshotAsync(AlbumCount, cancellationToken);
            auth = AuthSchemeAssessment.For(snapshot.AuthScheme);
        }
        catch (ChinookDataException ex)
        {
            failure = ex;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Anything the data source did not classify is still shown as a failure on the page, not a 500.
            logger.LogError(ex, "Reading Chinook failed unexpectedly");
            failure = new ChinookDataException(DataFailureStage.Query, ex.Message, ex);
        }

        // The cache that stopped the login is the one to show (it may have changed since the first look).
        ticketCache = failure?.TicketCache ?? ticketCache;
        return new StatusReport(
            dataSource.ServerHost,
            dataSource.DatabaseName,
            ticketCache,
            snapshot,
            auth,
            failure,
            failure is null ? [] : InnerMessages(failure),
            failure is null ? [] : FailureCauses.Rank(dataSource.ServerHost, failure, ticketCache),
            dataSource.ServerPort);
    }

    /// <summary>Words for the step that failed.</summary>
    public static string Describe(DataFailureStage stage) => stage switch
    {
        DataFailureStage.Configuration => "The app has no usable connection string",
        DataFailureStage.TicketCache => "The Kerberos ticket cache is not usable, so the app did not try to log in",
        DataFailureStage.Connection => "Connecting or logging in to SQL Server failed",
        _ => "Logged in, but reading the Chinook database failed",
    };

    /// <summary>
    /// The messages of the failure's inner exceptions (e.g. the socket or GSSAPI error under SqlClient's own message),
    /// without repeats and without the misleading ones: a socket error that says "Success" explains nothing, and
    /// "Unknown error 258" is a timeout.
    /// </summary>
    internal static List<string> InnerMessages(Exception failure)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { failure.Message.Trim() };
        var messages = new List<string>();
        for (var inner = failure.InnerException; inner is not null; inner = inner.InnerException)
        {
            var message = inner.Message?.Trim() ?? "";
            if (message.Length == 0 || message.TrimEnd('.').Equals("Success", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (message.Contains("Unknown error 258", StringComparison.Ordinal))
            {
                message = "timed out (Unknown error 258)";
            }

            if (seen.Add(message))
            {
                messages.Add(message);
            }
        }

        return messages;
    }
}
