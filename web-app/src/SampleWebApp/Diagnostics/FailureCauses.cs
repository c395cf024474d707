using SampleWebApp.Data;

namespace SampleWebApp.Diagnostics;

/// <summary>The usual reasons a Linux container cannot log in to SQL Server with a gMSA.</summary>
public enum FailureCause
{
    /// <summary>The server name is not the AD name, so there is no SPN for Kerberos.</summary>
    ServerName,

    /// <summary>The VPC's DHCP options / DNS do not point at the directory.</summary>
    Dns,

    /// <summary>credentials-fetcher could not get a ticket (CredSpec, gMSA principals, domainless secret).</summary>
    Ticket,
}

/// <summary>Points at the causes that the evidence on the page makes likely. Heuristics only: all three are always listed.</summary>
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

    /// <summary>The causes the evidence points at (possibly none).</summary>
    public static IReadOnlySet<FailureCause> Likely(string? serverHost, ChinookDataException failure, TicketCacheStatus ticketCache)
    {
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

        if (ticketCache.State is TicketCacheState.Missing or TicketCacheState.Unreadable or TicketCacheState.NotConfigured
            || TicketHints.Any(hint => messages.Contains(hint, StringComparison.OrdinalIgnoreCase)))
        {
            likely.Add(FailureCause.Ticket);
        }

        return likely;
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
