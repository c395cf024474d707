using SampleWebApp.Data;

namespace SampleWebApp.Diagnostics;

/// <summary>The usual reasons a Linux container cannot log in to SQL Server with a gMSA.</summary>
public enum FailureCause
{
    /// <summary>The server name is not the AD name, so there is no SPN for Kerberos.</summary>
    ServerName,

    /// <summary>The VPC's DHCP options / DNS do not point at the directory.</summary>
    Dns,

    /// <summary>Nothing answered on 1433 in time, or the connection was refused: security group or RDS instance state.</summary>
    Network,

    /// <summary>credentials-fetcher could not get a ticket (CredSpec, gMSA principals, domainless secret).</summary>
    Ticket,
}

/// <summary>Points at the causes that the evidence on the page makes likely. Heuristics only: all four are always listed.</summary>
public static class FailureCauses
{
    private static readonly string[] DnsHints =
    [
        "Name or service not known", "No such host is known", "nodename nor servname", "Temporary failure in name resolution",
        "could not be resolved",
    ];

    private static readonly string[] TicketHints =
    [
        "GSSAPI", "Kerberos", "credentials cache", "No credentials", "SSPI", "Cannot authenticate using Kerberos",
    ];

    private static readonly string[] NetworkHints =
    [
        "Connection refused", "timed out", "Timeout Expired", "No route to host", "Network is unreachable",
        "error: 35 - An internal exception was caught", "error: 40 -", "Unknown error 258",
    ];

    // -2: SqlClient's timeout; 258: the wait timed out (WAIT_TIMEOUT); 0: an internal socket error with no number
    // (a refused port on Linux); 10060/10061/10065: Windows socket errors for timed out, refused, host unreachable.
    private static readonly HashSet<int> NetworkErrorNumbers = [-2, 0, 258, 10060, 10061, 10065];

    /// <summary>The causes the evidence points at (possibly none).</summary>
    public static IReadOnlySet<FailureCause> Likely(string? serverHost, ChinookDataException failure, TicketCacheStatus ticketCache)
    {
        if (failure.Stage == DataFailureStage.TicketCache)
        {
            // The app stopped before the network: the ticket cache is the one cause shown by evidence.
            return new HashSet<FailureCause> { FailureCause.Ticket };
        }

        var likely = new HashSet<FailureCause>();
        if (serverHost is not null && (serverHost.EndsWith(".rds.amazonaws.com", StringComparison.OrdinalIgnoreCase)
                                       || System.Net.IPAddress.TryParse(serverHost, out _)
                                       || !serverHost.Contains('.')))
        {
            likely.Add(FailureCause.ServerName);
        }

        var messages = MessagesOf(failure);
        // 11001 is the Windows socket error "No such host is known", which SqlClient reports on Linux too.
        if (failure.SqlErrorNumber == 11001 || DnsHints.Any(hint => messages.Contains(hint, StringComparison.OrdinalIgnoreCase)))
        {
            likely.Add(FailureCause.Dns);
        }
        else if (failure.Stage == DataFailureStage.Connection
                 && (failure.SqlErrorNumber is int number && NetworkErrorNumbers.Contains(number)
                     || NetworkHints.Any(hint => messages.Contains(hint, StringComparison.OrdinalIgnoreCase))))
        {
            likely.Add(FailureCause.Network);
        }

        var ticket = failure.TicketCache ?? ticketCache;
        if (failure.Stage == DataFailureStage.TicketCache
            || ticket.State is not (TicketCacheState.Usable or TicketCacheState.NotChecked)
            || ticket is { State: TicketCacheState.NotChecked, Setting: null }
            || TicketHints.Any(hint => messages.Contains(hint, StringComparison.OrdinalIgnoreCase)))
        {
            likely.Add(FailureCause.Ticket);
        }

        return likely;
    }

    /// <summary>A short title for a cause (used by <c>/api/status</c>).</summary>
    public static string Title(FailureCause cause) => cause switch
    {
        FailureCause.ServerName => "the server name is not <db-instance-id>.<directory DNS name>",
        FailureCause.Dns => "DNS does not point at the directory",
        FailureCause.Network => "connection refused or timed out — check the 1433 rule from the tasks' security group to the database and the RDS instance's status",
        _ => "credentials-fetcher could not get a ticket (see the ticket cache)",
    };

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
