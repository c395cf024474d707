namespace SampleWebApp.Diagnostics;

/// <summary>What the app found at the Kerberos ticket cache named by <c>KRB5CCNAME</c>.</summary>
public enum TicketCacheState
{
    /// <summary><c>KRB5CCNAME</c> is not set: the Kerberos library falls back to its default cache, which credentials-fetcher does not fill.</summary>
    NotConfigured,

    /// <summary>The file is there and this process can read it.</summary>
    Present,

    /// <summary>No file at that path: credentials-fetcher has not (yet) written a ticket, or the volume is not mounted.</summary>
    Missing,

    /// <summary>The file is there but this process may not read it (the cache is root:root 0600; the container must run as root).</summary>
    Unreadable,

    /// <summary>A cache type that is not a file (<c>KEYRING:</c>, <c>KCM:</c>, <c>MEMORY:</c>...): not checked.</summary>
    NotAFile,
}

/// <summary>The ticket cache line of the home page.</summary>
/// <param name="Setting">The raw value of <c>KRB5CCNAME</c>, or null when unset.</param>
/// <param name="Path">The file or directory path (a <c>FILE:</c> or <c>DIR:</c> prefix removed), or null.</param>
/// <param name="State">What was found there.</param>
/// <param name="LastWriteUtc">When the cache was last written (credentials-fetcher renews tickets), when present.</param>
public sealed record TicketCacheStatus(string? Setting, string? Path, TicketCacheState State, DateTime? LastWriteUtc)
{
    /// <summary>True when a ticket cache is there for the driver to use.</summary>
    public bool IsUsable => State == TicketCacheState.Present;
}

/// <summary>
/// Looks at the Kerberos credential cache that credentials-fetcher mounts into the task
/// (<c>KRB5CCNAME</c>, e.g. <c>/var/credentials-fetcher/krbdir/krb5cc</c>).
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linux-gmsa.html
/// </summary>
public static class TicketCache
{
    /// <summary>Name of the environment variable (read through configuration) that points at the ticket cache.</summary>
    public const string VariableName = "KRB5CCNAME";

    /// <summary>Inspects the cache named by a <c>KRB5CCNAME</c> value. Never throws.</summary>
    public static TicketCacheStatus Inspect(string? setting)
    {
        if (string.IsNullOrWhiteSpace(setting))
        {
            return new TicketCacheStatus(null, null, TicketCacheState.NotConfigured, null);
        }

        var value = setting.Trim();
        if (value.StartsWith("DIR:", StringComparison.Ordinal))
        {
            var directory = value["DIR:".Length..];
            return Directory.Exists(directory)
                ? new TicketCacheStatus(setting, directory, TicketCacheState.Present, Directory.GetLastWriteTimeUtc(directory))
                : new TicketCacheStatus(setting, directory, TicketCacheState.Missing, null);
        }

        string path;
        if (value.StartsWith("FILE:", StringComparison.Ordinal))
        {
            path = value["FILE:".Length..];
        }
        else if (value.StartsWith('/') || !value.Contains(':'))
        {
            // A bare path is a FILE cache (MIT Kerberos' default cache type).
            path = value;
        }
        else
        {
            return new TicketCacheStatus(setting, null, TicketCacheState.NotAFile, null);
        }

        if (!File.Exists(path))
        {
            return new TicketCacheStatus(setting, path, TicketCacheState.Missing, null);
        }

        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return new TicketCacheStatus(setting, path, TicketCacheState.Present, File.GetLastWriteTimeUtc(path));
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            return new TicketCacheStatus(setting, path, TicketCacheState.Unreadable, null);
        }
    }
}
