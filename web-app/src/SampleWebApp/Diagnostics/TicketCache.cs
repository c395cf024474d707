namespace SampleWebApp.Diagnostics;

/// <summary>What the app found at the Kerberos ticket cache the library will use.</summary>
public enum TicketCacheState
{
    /// <summary>
    /// Not checked: a cache type that is not on disk (<c>KEYRING:</c>, <c>KCM:</c>, <c>MEMORY:</c>), or not Linux.
    /// The app still tries to log in.
    /// </summary>
    NotChecked,

    /// <summary>A ticket cache with at least one ticket that has not ended.</summary>
    Usable,

    /// <summary>A ticket cache whose tickets have all ended.</summary>
    Expired,

    /// <summary>Nothing at that path.</summary>
    Missing,

    /// <summary>A zero-byte file, a cache with a principal but no ticket, or a <c>DIR:</c> collection without a cache.</summary>
    Empty,

    /// <summary>A file that is not an MIT Kerberos ticket cache: wrong first bytes, a header alone, truncated, or garbage.</summary>
    NotATicketCache,

    /// <summary>A directory named without the <c>DIR:</c> prefix.</summary>
    Directory,

    /// <summary>A named pipe (FIFO), socket or device: the app does not open it, since reading one can block for ever.</summary>
    NotAFile,

    /// <summary>The file is there but this process may not read it (the cache is root:root 0600; the container must run as root).</summary>
    Unreadable,
}

/// <summary>The ticket cache the app found.</summary>
/// <param name="Name">The cache the library will use and where that name came from.</param>
/// <param name="Path">The file or directory looked at (a <c>FILE:</c> or <c>DIR:</c> prefix removed), or null.</param>
/// <param name="State">What was found there.</param>
/// <param name="LastWriteUtc">When the cache was last written, when it exists.</param>
/// <param name="EndsUtc">When the last of its tickets ends, when it could be read.</param>
/// <param name="Principal">Its default principal (e.g. <c>SampleWebApp$@DIRECTORY.EXAMPLE.COM</c>), when it could be read.</param>
/// <param name="SpecialKind">For <see cref="TicketCacheState.NotAFile"/>: what it is instead (e.g. "named pipe (FIFO)").</param>
public sealed record TicketCacheStatus(
    CacheName Name,
    string? Path,
    TicketCacheState State,
    DateTime? LastWriteUtc = null,
    DateTime? EndsUtc = null,
    string? Principal = null,
    string? SpecialKind = null)
{
    // Where ECS (credentials-fetcher, or Fargate) mounts the gMSA's ticket cache into the task.
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linux-gmsa.html
    private const string CredentialsFetcherDirectory = "/var/credentials-fetcher/";

    // Where the Kerberos sidecar (TICKET_SOURCE=sidecar, kerberos-sidecar/ in this repository) writes the cache, on
    // the task volume it shares with the app (KRB5CCNAME=FILE:/var/kerberos/krb5cc).
    private const string SidecarDirectory = "/var/kerberos/";

    /// <summary>The raw value of <c>KRB5CCNAME</c>, or null when it is unset.</summary>
    public string? Setting => Name.Source == CacheNameSource.Variable ? Name.Name : null;

    /// <summary>The realm of the cache's principal (for Active Directory, the directory's DNS name in capitals), or null.</summary>
    public string? Realm => Principal is { } principal && principal.LastIndexOf('@') is var at and >= 0 ? principal[(at + 1)..] : null;

    /// <summary>
    /// True when connecting is safe and may work. A bad cache must stop the login before it starts: .NET's
    /// NegotiateAuthentication crashes the whole process (SIGSEGV) on a zero-byte, truncated or garbage cache.
    /// </summary>
    public bool AllowsLogin => State is TicketCacheState.Usable or TicketCacheState.NotChecked;

    /// <summary>True when credentials-fetcher writes this cache (the path ECS mounts), false when a person runs kinit.</summary>
    public bool WrittenByCredentialsFetcher => Path?.StartsWith(CredentialsFetcherDirectory, StringComparison.Ordinal) == true;

    /// <summary>True when the task's Kerberos sidecar writes this cache (its shared volume).</summary>
    public bool WrittenBySidecar => Path?.StartsWith(SidecarDirectory, StringComparison.Ordinal) == true;

    // The sidecar's log: the task's log group, streams kerberos-sidecar/... (lib/constructs/kerberos-sidecar-container.ts).
    private const string SidecarLog = "read the kerberos-sidecar log stream of the task (a wrong password or an unreachable domain controller stops its kinit)";

    /// <summary>The state as the page and <c>/api/status</c> name it, e.g. <c>not-a-ticket-cache</c>.</summary>
    public string StateName => TicketCache.NameOf(State);

    /// <summary>What was found and how to fix it, in one or two sentences.</summary>
    public string Explanation => State switch
    {
        TicketCacheState.Usable => "Holds a ticket that has not ended.",
        TicketCacheState.Expired => "Every ticket in it has ended. " + (WrittenByCredentialsFetcher
            ? "credentials-fetcher is not renewing it: check its log and the gMSA's permissions."
            : WrittenBySidecar
                ? "The Kerberos sidecar is not renewing it: " + SidecarLog + "."
                : "Get a new ticket with kinit."),
        TicketCacheState.Missing => "There is no file there. " + (WrittenByCredentialsFetcher
            ? "credentials-fetcher has not written a ticket: check the task's credentialSpecs and the credentials-fetcher log."
            : WrittenBySidecar
                ? "The Kerberos sidecar has not written a ticket: " + SidecarLog + "."
                : Name.Source == CacheNameSource.Variable
                ? "Get a ticket with kinit -c " + Name.Name + ", or point KRB5CCNAME at your ticket cache."
                : "Get a ticket with kinit (it writes this default cache), or set KRB5CCNAME to the cache to use."),
        TicketCacheState.Empty => "Holds no ticket (a zero-byte file, or a cache or collection without tickets). " + (WrittenByCredentialsFetcher
            ? "credentials-fetcher is still writing it or failed: reload in a minute, then check its log."
            : WrittenBySidecar
                ? "The Kerberos sidecar writes a whole cache and renames it into place: " + SidecarLog + "."
                : "Get a ticket with kinit."),
        TicketCacheState.NotATicketCache => "Not a Kerberos ticket cache (wrong format, a header without a ticket, truncated or corrupt). " + (WrittenByCredentialsFetcher
            ? "credentials-fetcher writes a whole cache: check its log, then restart the task."
            : WrittenBySidecar
                ? "The Kerberos sidecar writes a whole cache and renames it into place: " + SidecarLog + "."
                : "Delete it and get a ticket with kinit, or point KRB5CCNAME at a real ticket cache."),
        TicketCacheState.Directory => $"A directory, not a cache file. Name the cache file inside it, or write DIR:{Path} for a cache collection.",
        TicketCacheState.NotAFile => $"A {SpecialKind ?? "special file"}, not a file: the app does not open it, since reading it could block for ever. " +
                                     "Point KRB5CCNAME at a ticket cache file.",
        TicketCacheState.Unreadable => "This process may not read it. " + (WrittenByCredentialsFetcher
            ? "The cache that credentials-fetcher mounts is root-only: run the container as root."
            : WrittenBySidecar
                ? "The Kerberos sidecar writes it for its CACHE_UID (1654) with mode 0600: run the app as that user."
                : "Check its owner and mode (kinit makes it readable by its owner only)."),
        _ => OperatingSystem.IsLinux()
            ? "Not a file or directory cache, so the app cannot look inside; it tries to log in."
            : "Not checked: the app checks ticket caches on Linux only (on Windows the driver uses your logon session).",
    };

    /// <summary>The line the page and <c>/api/status</c> give when the cache stops the login.</summary>
    public string Problem => $"{Path ?? Name.Name}: {Explanation}";
}

/// <summary>
/// Looks at the Kerberos credential cache that the library will use (see <see cref="KerberosEnvironment"/>), before the
/// driver may use it: on ECS the one credentials-fetcher mounts into the task (<c>KRB5CCNAME</c>, e.g.
/// <c>/var/credentials-fetcher/krbdir/krb5cc</c>); locally the one kinit wrote.
/// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linux-gmsa.html
/// File format: https://web.mit.edu/kerberos/krb5-latest/doc/formats/ccache_file_format.html
/// Cache types and names: https://web.mit.edu/kerberos/krb5-latest/doc/basic/ccache_def.html
/// </summary>
public static class TicketCache
{
    // A cache bigger than this is not something credentials-fetcher or kinit writes; read no more of it.
    private const int MaxBytes = 1 << 20;

    // A DIR: collection's "primary" file holds one file name.
    private const int MaxPrimaryBytes = 4096;

    /// <summary>The kebab-case name of a state.</summary>
    public static string NameOf(TicketCacheState state) => state switch
    {
        TicketCacheState.NotChecked => "not-checked",
        TicketCacheState.NotATicketCache => "not-a-ticket-cache",
        TicketCacheState.NotAFile => "not-a-file",
        _ => state.ToString().ToLowerInvariant(),
    };

    /// <summary>Inspects the cache the library will use in this environment. Never throws.</summary>
    public static TicketCacheStatus Inspect(KerberosEnvironment environment) => Inspect(environment.ResolveCacheName(), DateTime.UtcNow);

    /// <summary>Inspects a cache as of <paramref name="nowUtc"/>. Never throws.</summary>
    public static TicketCacheStatus Inspect(CacheName name, DateTime nowUtc)
    {
        if (!OperatingSystem.IsLinux())
        {
            return new TicketCacheStatus(name, null, TicketCacheState.NotChecked);
        }

        var value = name.Name;
        try
        {
            // MIT: the type is the text before the first colon; no colon means FILE. "DIR::<file>" names one cache of a collection.
            var colon = value.IndexOf(':');
            var type = colon < 0 ? "FILE" : value[..colon];
            var residual = colon < 0 ? value : value[(colon + 1)..];
            return type switch
            {
                "FILE" => InspectFile(name, residual, nowUtc),
                "DIR" when residual.StartsWith(':') => InspectFile(name, residual[1..], nowUtc),
                "DIR" => InspectCollection(name, residual, nowUtc),
                _ => new TicketCacheStatus(name, null, TicketCacheState.NotChecked),
            };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return new TicketCacheStatus(name, value, TicketCacheState.Unreadable);
        }
    }

    private static TicketCacheStatus InspectFile(CacheName name, string path, DateTime nowUtc)
    {
        var read = RegularFile.Read(path, MaxBytes);
        return read.Kind switch
        {
            FileKind.Missing => new TicketCacheStatus(name, path, TicketCacheState.Missing),
            FileKind.Directory => new TicketCacheStatus(name, path, TicketCacheState.Directory, read.LastWriteUtc),
            FileKind.Special => new TicketCacheStatus(name, path, TicketCacheState.NotAFile, read.LastWriteUtc, SpecialKind: read.SpecialKind),
            FileKind.Unreadable => new TicketCacheStatus(name, path, TicketCacheState.Unreadable, read.LastWriteUtc),
            _ => Judged(name, path, read, nowUtc),
        };
    }

    private static TicketCacheStatus Judged(CacheName name, string path, FileRead read, DateTime nowUtc)
    {
        var (state, ends, principal) = Judge(read.Bytes, nowUtc);
        return new TicketCacheStatus(name, path, state, read.LastWriteUtc, ends, principal);
    }

    private static TicketCacheStatus InspectCollection(CacheName name, string directory, DateTime nowUtc)
    {
        var read = RegularFile.Read(directory, 0);
        if (read.Kind != FileKind.Directory)
        {
            var state = read.Kind == FileKind.Missing ? TicketCacheState.Missing : TicketCacheState.NotATicketCache;
            return new TicketCacheStatus(name, directory, state);
        }

        // MIT Kerberos uses the cache the "primary" file names (default "tkt"); without one, any tkt* cache will do.
        var primary = RegularFile.Read(Path.Combine(directory, "primary"), MaxPrimaryBytes);
        IEnumerable<string> candidates = primary.Kind == FileKind.Regular
            ? [Path.Combine(directory, Path.GetFileName(System.Text.Encoding.UTF8.GetString(primary.Bytes).Split('\n')[0].Trim()) is { Length: > 0 } file ? file : "tkt")]
            : System.IO.Directory.GetFiles(directory, "tkt*").Order(StringComparer.Ordinal);

        TicketCacheStatus? best = null;
        foreach (var candidate in candidates)
        {
            var status = InspectFile(name, candidate, nowUtc);
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

        return best ?? new TicketCacheStatus(name, directory, TicketCacheState.Empty, read.LastWriteUtc);
    }

    /// <summary>
    /// Judges the bytes of a FILE cache: it is usable only if it parses whole and holds at least one ticket that has not ended.
    /// </summary>
    internal static (TicketCacheState State, DateTime? EndsUtc, string? Principal) Judge(ReadOnlySpan<byte> bytes, DateTime nowUtc)
    {
        if (bytes.Length == 0)
        {
            return (TicketCacheState.Empty, null, null);
        }

        if (CcacheReader.Read(bytes) is not { } contents)
        {
            return (TicketCacheState.NotATicketCache, null, null);
        }

        if (contents.TicketEnds.Count == 0)
        {
            return (TicketCacheState.Empty, null, contents.Principal);
        }

        var last = contents.TicketEnds.Max();
        return (last > nowUtc ? TicketCacheState.Usable : TicketCacheState.Expired, last, contents.Principal);
    }
}
