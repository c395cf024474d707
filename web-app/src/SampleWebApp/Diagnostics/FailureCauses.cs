using SampleWebApp.Data;

namespace SampleWebApp.Diagnostics;

/// <summary>The reasons a Linux container cannot log in to SQL Server with a gMSA.</summary>
public enum FailureCause
{
    /// <summary>The server name is not the AD name, so the KDC has no SPN for it and Kerberos fails.</summary>
    ServerName,

    /// <summary>The VPC's DHCP options / DNS do not point at the directory.</summary>
    Dns,

    /// <summary>Nothing answered on 1433 in time, or the connection was refused: security group or RDS instance state.</summary>
    Network,

    /// <summary>No usable Kerberos ticket: credentials-fetcher (or, locally, kinit) did not provide one.</summary>
    Ticket,

    /// <summary>Kerberos worked, but SQL Server has no login for the gMSA, or the login may not use the database.</summary>
    Login,
}

/// <summary>How strongly the evidence points at a cause.</summary>
public enum Likelihood
{
    /// <summary>The error says so (e.g. the name did not resolve; the KDC refused the server's SPN with a usable ticket).</summary>
    Likely,

    /// <summary>Nothing rules it out, nothing points at it.</summary>
    Possible,
}

/// <summary>A cause that can apply, with what points at it.</summary>
/// <param name="Cause">The cause.</param>
/// <param name="Likelihood">How strongly the evidence points at it.</param>
/// <param name="Evidence">What on the page points at it, in words (null when nothing does).</param>
public sealed record RankedCause(FailureCause Cause, Likelihood Likelihood, string? Evidence = null);

/// <summary>
/// Works out which causes can apply to a failure, most likely first, from the step that failed, the driver's error and
/// the ticket cache. A cause the evidence rules out is not listed: a login that reached the Kerberos step had a working
/// network path and DNS; a login refused for a named Windows login had a working ticket.
/// </summary>
public static class FailureCauses
{
    /// <summary>The port SQL Server listens on by default, and the one RDS uses unless told otherwise.</summary>
    public const int DefaultPort = 1433;

    private static readonly string[] DnsHints =
    [
        "Name or service not known", "No such host is known", "nodename nor servname", "Temporary failure in name resolution",
        "could not be resolved",
    ];

    private static readonly string[] NetworkHints =
    [
        "Connection refused", "timed out", "Timeout Expired", "No route to host", "Network is unreachable",
        "A network-related or instance-specific error", "error: 35 - An internal exception was caught", "error: 40 -",
        "Unknown error 258",
    ];

    // What SqlClient on Linux says when the Kerberos step fails (NegotiateAuthentication could not make a token): the
    // same words whether the KDC refused the server's SPN, had no ticket to start from, or could not be reached.
    private static readonly string[] KerberosHints =
    [
        "Cannot generate SSPI context", "target principal name is incorrect", "GSSAPI", "Kerberos", "credentials cache",
        "No credentials", "SSPI",
    ];

    // -2: SqlClient's timeout; 258: the wait timed out (WAIT_TIMEOUT); 10060/10061/10065: Windows socket errors for
    // timed out, refused, host unreachable. (0, an internal error with no number, is not evidence of anything.)
    private static readonly HashSet<int> NetworkErrorNumbers = [-2, 258, 10060, 10061, 10065];

    /// <summary>The causes that can apply, most likely first; empty when none of them is about this failure (no connection string).</summary>
    public static IReadOnlyList<RankedCause> Rank(string? serverHost, ChinookDataException failure, TicketCacheStatus ticketCache)
    {
        var ticket = failure.TicketCache ?? ticketCache;
        switch (failure.Stage)
        {
            case DataFailureStage.Configuration:
                return [];
            case DataFailureStage.TicketCache:
                // The app stopped before the network: the ticket cache is the one cause, and the evidence.
                return [new(FailureCause.Ticket, Likelihood.Likely, $"the ticket cache is {ticket.StateName.Replace('-', ' ')}")];
            case DataFailureStage.Query:
                // Logged in with Kerberos, so the name, DNS, network and ticket all worked.
                return [new(FailureCause.Login, Likelihood.Likely, "the login worked; the query did not")];
        }

        var messages = MessagesOf(failure);
        bool Mentions(string[] hints) => hints.Any(hint => messages.Contains(hint, StringComparison.OrdinalIgnoreCase));

        // 11001 is the Windows socket error "No such host is known", which SqlClient reports on Linux too.
        if (failure.SqlErrorNumber == 11001 || Mentions(DnsHints))
        {
            return [new(FailureCause.Dns, Likelihood.Likely, $"the name {serverHost} did not resolve")];
        }

        if (failure.SqlErrorNumber is 18456 && NamedLogin(messages) is string login)
        {
            // SQL Server knew who it was talking to: Kerberos (or NTLM) worked, the login is what is missing.
            return [new(FailureCause.Login, Likelihood.Likely, $"SQL Server refused the login {login}")];
        }

        if (failure.SqlErrorNumber is 4060)
        {
            return [new(FailureCause.Login, Likelihood.Likely, "SQL Server accepted the login but not the database")];
        }

        if (Mentions(KerberosHints) || messages.Contains("untrusted domain", StringComparison.OrdinalIgnoreCase))
        {
            // The driver reached the Kerberos step, so DNS and the network path to SQL Server worked.
            return KerberosStep(serverHost, ticket);
        }

        if (failure.SqlErrorNumber is int number && NetworkErrorNumbers.Contains(number) || Mentions(NetworkHints))
        {
            return [new(FailureCause.Network, Likelihood.Likely, "the connection was refused or timed out")];
        }

        // No evidence: everything that can go wrong before and during the login, in the order it would.
        List<RankedCause> possible = [new(FailureCause.Dns, Likelihood.Possible), new(FailureCause.Network, Likelihood.Possible)];
        possible.AddRange(KerberosStep(serverHost, ticket).Select(cause => cause with { Likelihood = Likelihood.Possible }));
        possible.Add(new(FailureCause.Login, Likelihood.Possible));
        return possible;
    }

    /// <summary>The SPN the driver asks the KDC for: <c>MSSQLSvc/&lt;host&gt;:&lt;port&gt;</c> (TCP).</summary>
    /// <remarks>https://learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections#spn-formats</remarks>
    public static string SpnOf(string host, int? port) => $"MSSQLSvc/{host}:{port ?? DefaultPort}";

    /// <summary>
    /// The name RDS registers the SPN under (<c>&lt;db-instance-id&gt;.&lt;directory DNS name&gt;</c>) as far as the
    /// evidence tells: the instance id is the first label of an RDS endpoint; the directory's DNS name is the realm of
    /// the ticket. Placeholders stand in for what is not known.
    /// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_SQLServerWinAuth.KerberosEndpoint.html
    /// </summary>
    public static string RdsKerberosName(string? serverHost, string? realm)
    {
        var instance = IsRdsEndpoint(serverHost) ? serverHost![..serverHost!.IndexOf('.')] : "<db-instance-id>";
        var directory = string.IsNullOrEmpty(realm) ? "<directory DNS name>" : realm.ToLowerInvariant();
        if (!IsRdsEndpoint(serverHost) && serverHost is not null && realm is not null
            && serverHost.EndsWith("." + directory, StringComparison.OrdinalIgnoreCase))
        {
            // Already <something>.<directory>: the instance id is that something.
            instance = serverHost[..^(directory.Length + 1)];
        }

        return $"{instance}.{directory}";
    }

    /// <summary>A short title for a cause (used by <c>/api/status</c>).</summary>
    public static string Title(FailureCause cause) => cause switch
    {
        FailureCause.ServerName => "the KDC has no SPN for this server name: use <db-instance-id>.<directory DNS name>",
        FailureCause.Dns => "DNS does not point at the directory",
        FailureCause.Network => "connection refused or timed out: check the 1433 rule from the tasks' security group to the database and the RDS instance's status",
        FailureCause.Login => "SQL Server has no login for the gMSA, or the login may not use the database",
        _ => "no usable Kerberos ticket (see the ticket cache)",
    };

    private static IReadOnlyList<RankedCause> KerberosStep(string? serverHost, TicketCacheStatus ticket)
    {
        var shape = IsRdsEndpoint(serverHost) ? "the host is the RDS endpoint, which has no SPN"
            : serverHost is not null && System.Net.IPAddress.TryParse(serverHost, out _) ? "the host is an IP address, which has no SPN"
            : null;
        if (ticket.State == TicketCacheState.Usable)
        {
            // A ticket that has not ended, and the KDC still gave none for the server: its SPN is unknown to the KDC.
            return [new(FailureCause.ServerName, Likelihood.Likely, shape ?? "the ticket cache holds a ticket that has not ended")];
        }

        // The cache could not be looked into (KEYRING:, KCM:...): the ticket or the name.
        return shape is not null
            ? [new(FailureCause.ServerName, Likelihood.Likely, shape), new(FailureCause.Ticket, Likelihood.Possible)]
            : [new(FailureCause.Ticket, Likelihood.Possible), new(FailureCause.ServerName, Likelihood.Possible)];
    }

    private static bool IsRdsEndpoint(string? host) =>
        host is not null && host.EndsWith(".rds.amazonaws.com", StringComparison.OrdinalIgnoreCase) && host.Contains('.');

    // "Login failed for user 'DIRECTORY\SampleWebApp$'." names a Windows login; '' or "untrusted domain" means it did not get that far.
    private static string? NamedLogin(string messages)
    {
        const string prefix = "Login failed for user '";
        var start = messages.IndexOf(prefix, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += prefix.Length;
        var end = messages.IndexOf('\'', start);
        return end > start ? messages[start..end] : null;
    }

    private static string MessagesOf(Exception exception)
    {
        var parts = new List<string>();
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            parts.Add(current.Message);
        }

        return string.Join('\n', parts);
    }
}
