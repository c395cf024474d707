namespace SampleWebApp.Diagnostics;

/// <summary>What the app found at the Kerberos ticket cache named by <c>KRB5CCNAME</c>.</summary>
public enum TicketCacheState
{
    /// <summary>
    /// Not checked: <c>KRB5CCNAME</c> is unset (the Kerberos library uses its default cache) or names a cache type that
    /// is not on disk (<c>KEYRING:</c>, <c>KCM:</c>, <c>MEMORY:</c>). The app still tries to log in.
    /// </summary>
    NotChecked,

    /// <summary>A ticket cache with at least one ticket that has not ended.</summary>
    Usable,

    /// <summary>A ticket cache whose tickets have all ended: credentials-fetcher has stopped renewing it.</summary>
    Expired,

    /// <summary>Nothing at that path: credentials-fetcher has not (yet) written a ticket, or the volume is not mounted.</summary>
    Missing,

    /// <summary>A zero-byte file, or a cache (or <c>DIR:</c> collection) that holds no ticket.</summary>
    Empty,

    /// <summary>A file that is not an MIT Kerberos ticket cache: wrong first bytes, truncated, or garbage.</summary>
    NotATicketCache,

    /// <summary>A directory named without the <c>DIR:</c> prefix.</summary>
    Directory,

    /// <summary>The file is there but this process may not read it (the cache is root:root 0600; the container must run as root).</summary>
    Unreadable,
}

/// <summary>The ticket cache the app found.</summary>
/// <param name="Setting">The raw value of <c>KRB5CCNAME</c>, or null when unset.</param>
/// <param name="Path">The file or directory looked at (a <c>FILE:</c> or <c>DIR:</c> prefix removed), or null.</param>
/// <param name="State">What was found there.</param>
/// <param name="LastWriteUtc">When the cache was last written (credentials-fetcher renews tickets), when it exists.</param>
/// <param name="EndsUtc">When the last of its tickets ends, when it could be read.</param>
public sealed record TicketCacheStatus(string? Setting, string? Path, TicketCacheState State, DateTime? LastWriteUtc = null, DateTime? EndsUtc = null)
{
    /// <summary>
    /// True when connecting is safe and may work. A bad cache must stop the login before it starts: .NET's
    /// NegotiateAuthentication crashes the whole process (SIGSEGV) on a zero-byte, truncated or garbage cache.
    /// </summary>
    public bool AllowsLogin => State is TicketCacheState.Usable or TicketCacheState.NotChecked;

    /// <summary>The state as the page and <c>/api/status</c> name it, e.g. <c>not-a-ticket-cache</c>.</summary>
    public string StateName => TicketCache.NameOf(State);

    /// <summary>One sentence: what is wrong and how to fix it (or what was found, when usable).</summary>
    public string Explanation => State switch
    {
        TicketCacheState.Usable => "holds a ticket that has not ended.",
        TicketCacheState.Expired => "every ticket in it has ended: credentials-fetcher is not renewing it (check its log and the gMSA's permissions).",
        TicketCacheState.Missing => "does not exist: credentials-fetcher has not written a ticket there (check the task's credentialSpecs and its log).",
        TicketCacheState.Empty => "holds no ticket (a zero-byte file or an empty collection): credentials-fetcher is still writing it or failed; reload in a minute, then check its log.",
        TicketCacheState.NotATicketCache => "is not a Kerberos ticket cache (wrong format, truncated or corrupt): point KRB5CCNAME at the file credentials-fetcher writes.",
        TicketCacheState.Directory => $"is a directory: name the cache file inside it, or write DIR:{Path} for a cache collection.",
        TicketCacheState.Unreadable => "exists but this process cannot read it (the cache is root-only: run the container as root).",
        _ => Setting is null
            ? "KRB5CCNAME is not set, so the driver looks in the default cache, where credentials-fetcher puts nothing; the app tries anyway."
            : "not a cache on disk (KEYRING:, KCM:, MEMORY:...): not checked; the app tries to log in.",
    };
}

/// <summary>
/// Looks at the Kerberos credential cache that credentials-fetcher mounts into the task
/// (<c>KRB5CCNAME</c>, e.g. <c>/var/credentials-fetcher/krbdir/krb5cc</c>) before the driver may use it.
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linux-gmsa.html
/// File format: https://web.mit.edu/kerberos/krb5-latest/doc/formats/ccache_file_format.html
/// </summary>
public static class TicketCache
{
    /// <summary>Name of the environment variable (read through configuration) that points at the ticket cache.</summary>
    public const string VariableName = "KRB5CCNAME";

    // A cache bigger than this is not something credentials-fetcher writes; read no more of it.
    private const int MaxBytes = 1 << 20;

    /// <summary>The kebab-case name of a state.</summary>
    public static string NameOf(TicketCacheState state) => state switch
    {
        TicketCacheState.NotChecked => "not-checked",
        TicketCacheState.NotATicketCache => "not-a-ticket-cache",
        _ => state.ToString().ToLowerInvariant(),
    };

    /// <summary>Inspects the cache named by a <c>KRB5CCNAME</c> value. Never throws.</summary>
    public static TicketCacheStatus Inspect(string? setting) => Inspect(setting, DateTime.UtcNow);

    /// <summary>Inspects the cache named by a <c>KRB5CCNAME</c> value as of <paramref name="nowUtc"/>. Never throws.</summary>
    public static TicketCacheStatus Inspect(string? setting, DateTime nowUtc)
    {
        if (string.IsNullOrWhiteSpace(setting))
        {
            return new TicketCacheStatus(null, null, TicketCacheState.NotChecked);
        }

        var value = setting.Trim();
        try
        {
            if (value.StartsWith("DIR:", StringComparison.Ordinal))
            {
                return InspectCollection(setting, value["DIR:".Length..], nowUtc);
            }

            if (value.StartsWith("FILE:", StringComparison.Ordinal))
            {
                return InspectFile(setting, value["FILE:".Length..], nowUtc);
            }

            // A bare path is a FILE cache (MIT Kerberos' default cache type); anything else with a type prefix is not on disk.
            return value.StartsWith('/') || !value.Contains(':')
                ? InspectFile(setting, value, nowUtc)
                : new TicketCacheStatus(setting, null, TicketCacheState.NotChecked);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return new TicketCacheStatus(setting, value, TicketCacheState.Unreadable);
        }
    }

    private static TicketCacheStatus InspectFile(string setting, string path, DateTime nowUtc)
    {
        if (System.IO.Directory.Exists(path))
        {
            return new TicketCacheStatus(setting, path, TicketCacheState.Directory, System.IO.Directory.GetLastWriteTimeUtc(path));
        }

        if (!File.Exists(path))
        {
            return new TicketCacheStatus(setting, path, TicketCacheState.Missing);
        }

        var written = File.GetLastWriteTimeUtc(path);
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var buffer = new byte[MaxBytes];
            var length = stream.ReadAtLeast(buffer, MaxBytes, throwOnEndOfStream: false);
            bytes = buffer[..length];
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            return new TicketCacheStatus(setting, path, TicketCacheState.Unreadable, written);
        }

        var (state, ends) = Judge(bytes, nowUtc);
        return new TicketCacheStatus(setting, path, state, written, ends);
    }

    private static TicketCacheStatus InspectCollection(string setting, string directory, DateTime nowUtc)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            return new TicketCacheStatus(setting, directory, File.Exists(directory) ? TicketCacheState.NotATicketCache : TicketCacheState.Missing);
        }

        // MIT Kerberos uses the cache the "primary" file names (default "tkt"); without one, any tkt* cache will do.
        var primary = Path.Combine(directory, "primary");
        IEnumerable<string> candidates = File.Exists(primary)
            ? [Path.Combine(directory, File.ReadLines(primary).FirstOrDefault()?.Trim() ?? "tkt")]
            : System.IO.Directory.GetFiles(directory, "tkt*").Order(StringComparer.Ordinal);

        TicketCacheStatus? best = null;
        foreach (var candidate in candidates)
        {
            var status = InspectFile(setting, candidate, nowUtc);
            if (status.State == TicketCacheState.Usable)
            {
                return status;
            }

            best ??= status;
            if (status.State == TicketCacheState.Expired)
            {
                best = status;
            }
        }

        return best ?? new TicketCacheStatus(setting, directory, TicketCacheState.Empty, System.IO.Directory.GetLastWriteTimeUtc(directory));
    }

    /// <summary>Judges the bytes of a FILE cache: format, then whether any ticket has not ended.</summary>
    internal static (TicketCacheState State, DateTime? EndsUtc) Judge(ReadOnlySpan<byte> bytes, DateTime nowUtc)
    {
        if (bytes.Length == 0)
        {
            return (TicketCacheState.Empty, null);
        }

        // First byte 5, second the format version 1..4.
        if (bytes.Length < 2 || bytes[0] != 0x05 || bytes[1] is < 0x01 or > 0x04)
        {
            return (TicketCacheState.NotATicketCache, null);
        }

        if (bytes[1] < 0x03)
        {
            // Versions 1 and 2 (native byte order, pre-1996) are not parsed; let the library judge them.
            return (TicketCacheState.Usable, null);
        }

        var ends = CcacheReader.TicketEndTimes(bytes);
        if (ends is null)
        {
            return (TicketCacheState.NotATicketCache, null);
        }

        if (ends.Count == 0)
        {
            return (TicketCacheState.Empty, null);
        }

        var last = ends.Max();
        return (last > nowUtc ? TicketCacheState.Usable : TicketCacheState.Expired, last);
    }
}
