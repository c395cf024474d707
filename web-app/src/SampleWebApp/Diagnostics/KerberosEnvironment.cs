using System.Runtime.InteropServices;
using System.Text;

namespace SampleWebApp.Diagnostics;

/// <summary>Where the name of the ticket cache came from.</summary>
public enum CacheNameSource
{
    /// <summary>The <c>KRB5CCNAME</c> environment variable (what ECS sets in the task).</summary>
    Variable,

    /// <summary><c>default_ccache_name</c> in <c>[libdefaults]</c> of a krb5.conf (<c>KRB5CCNAME</c> is not set).</summary>
    Krb5Conf,

    /// <summary>The Kerberos library's built-in default, <c>FILE:/tmp/krb5cc_&lt;uid&gt;</c> (neither of the above).</summary>
    BuiltIn,
}

/// <summary>The ticket cache the Kerberos library will use, and why.</summary>
/// <param name="Name">The cache name with its parameters expanded, e.g. <c>FILE:/tmp/krb5cc_0</c>.</param>
/// <param name="Source">Where it came from.</param>
/// <param name="ConfigFile">For <see cref="CacheNameSource.Krb5Conf"/>: the krb5.conf that named it.</param>
public sealed record CacheName(string Name, CacheNameSource Source, string? ConfigFile = null)
{
    /// <summary>Where the name came from, in words for the page.</summary>
    public string SourceText => Source switch
    {
        CacheNameSource.Variable => "named by KRB5CCNAME",
        CacheNameSource.Krb5Conf => $"KRB5CCNAME is not set: the default cache named by default_ccache_name in {ConfigFile}",
        _ => "KRB5CCNAME is not set: the Kerberos library's built-in default cache",
    };
}

/// <summary>
/// The process environment as MIT Kerberos sees it, to find the ticket cache that the library (libgssapi_krb5, which
/// SqlClient uses for Integrated Security on Linux) will really open: <c>KRB5CCNAME</c>; else <c>default_ccache_name</c>
/// from the krb5.conf files (<c>KRB5_CONFIG</c>, else <c>/etc/krb5.conf</c>); else the built-in
/// <c>FILE:/tmp/krb5cc_%{uid}</c>. Checking only <c>KRB5CCNAME</c> let a garbage default cache crash the process on a
/// developer's machine, where <c>dotnet run</c> does not set it.
/// https://web.mit.edu/kerberos/krb5-latest/doc/basic/ccache_def.html (default ccache name)
/// https://web.mit.edu/kerberos/krb5-latest/doc/admin/env_variables.html (KRB5CCNAME, KRB5_CONFIG)
/// https://web.mit.edu/kerberos/krb5-latest/doc/admin/conf_files/krb5_conf.html (default_ccache_name, parameter expansion)
/// </summary>
/// <param name="variable">Reads an environment variable (the process's own in production; a dictionary in tests).</param>
/// <param name="userId">The real user id, for <c>%{uid}</c> (MIT expands it with getuid()).</param>
/// <param name="builtInDefault">The library's compiled-in default (Debian's and Ubuntu's libkrb5: <c>FILE:/tmp/krb5cc_%{uid}</c>).</param>
public sealed partial class KerberosEnvironment(Func<string, string?> variable, uint userId, string builtInDefault = KerberosEnvironment.BuiltInDefault)
{
    /// <summary>MIT Kerberos' DEFCCNAME as Debian and Ubuntu build it (<c>strings libkrb5.so.3</c> shows it).</summary>
    public const string BuiltInDefault = "FILE:/tmp/krb5cc_%{uid}";

    /// <summary>The variable that names the ticket cache.</summary>
    public const string CacheVariable = "KRB5CCNAME";

    /// <summary>The variable that lists the krb5.conf files, separated by colons.</summary>
    public const string ConfigVariable = "KRB5_CONFIG";

    private const string DefaultConfigPath = "/etc/krb5.conf";

    // krb5.conf is a few kilobytes; a bigger file is not one, and an include loop must end.
    private const int MaxConfigBytes = 1 << 20;
    private const int MaxIncludeDepth = 8;

    /// <summary>This process's environment and user.</summary>
    public static KerberosEnvironment OfThisProcess() =>
        new(Environment.GetEnvironmentVariable, OperatingSystem.IsWindows() ? 0 : GetUid());

    /// <summary>The raw value of <c>KRB5CCNAME</c>, or null when it is unset or empty.</summary>
    public string? CacheSetting => variable(CacheVariable) is { Length: > 0 } value ? value : null;

    /// <summary>The ticket cache the library will use. Never throws: an unreadable krb5.conf counts as absent, as it does for MIT.</summary>
    public CacheName ResolveCacheName()
    {
        if (CacheSetting is string setting)
        {
            return new CacheName(setting.Trim(), CacheNameSource.Variable);
        }

        var files = (variable(ConfigVariable) ?? DefaultConfigPath).Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (var file in files)
        {
            if (FindLibdefault(file, "default_ccache_name", depth: 0) is string configured)
            {
                return new CacheName(Expand(configured), CacheNameSource.Krb5Conf, file);
            }
        }

        return new CacheName(Expand(builtInDefault), CacheNameSource.BuiltIn);
    }

    /// <summary>
    /// Expands the parameters MIT allows in a cache name: <c>%{uid}</c>, <c>%{USERID}</c>, <c>%{euid}</c>,
    /// <c>%{TEMP}</c> (TMPDIR, else /tmp), <c>%{null}</c>. Others are left as they are (the library then refuses the name).
    /// </summary>
    internal string Expand(string name) => TokenRegex().Replace(name, match => match.Groups[1].Value switch
    {
        "uid" or "USERID" or "euid" => userId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "TEMP" => variable("TMPDIR") is { Length: > 0 } temp ? temp : "/tmp",
        "null" => "",
        _ => match.Value,
    });

    /// <summary>
    /// The first value of <paramref name="tag"/> in <c>[libdefaults]</c> of a krb5.conf (profile syntax: sections in
    /// brackets, <c>tag = value</c>, <c>{ }</c> subsections, <c>#</c>/<c>;</c> comments, <c>include</c> and
    /// <c>includedir</c> directives), or null. Only regular files are read (see <see cref="RegularFile"/>).
    /// </summary>
    internal static string? FindLibdefault(string file, string tag, int depth)
    {
        if (depth > MaxIncludeDepth || !OperatingSystem.IsLinux())
        {
            return null;
        }

        var read = RegularFile.Read(file, MaxConfigBytes);
        if (read.Kind != FileKind.Regular)
        {
            return null;
        }

        string? section = null;
        var nesting = 0;
        foreach (var rawLine in Encoding.UTF8.GetString(read.Bytes).Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (rawLine.StartsWith("include ", StringComparison.Ordinal) || rawLine.StartsWith("includedir ", StringComparison.Ordinal))
            {
                var found = FromInclude(rawLine, tag, depth);
                if (found is not null)
                {
                    return found;
                }

                continue;
            }

            if (line[0] == '[')
            {
                var end = line.IndexOf(']');
                section = end > 0 ? line[1..end].Trim() : null;
                nesting = 0;
                continue;
            }

            if (line[0] == '}')
            {
                nesting = Math.Max(0, nesting - 1);
                continue;
            }

            var equals = line.IndexOf('=');
            if (equals <= 0)
            {
                continue;
            }

            var name = line[..equals].Trim().TrimEnd('*').Trim();
            var value = line[(equals + 1)..].Trim();
            if (value.StartsWith('{'))
            {
                nesting++;
                continue;
            }

            if (nesting == 0 && section == "libdefaults" && name == tag)
            {
                return Unquote(value);
            }
        }

        return null;
    }

    private static string? FromInclude(string line, string tag, int depth)
    {
        if (line.StartsWith("includedir ", StringComparison.Ordinal))
        {
            // MIT reads the files whose names are letters, digits, dashes and underscores, or end in .conf (not dot files).
            var directory = line["includedir ".Length..].Trim();
            if (!System.IO.Directory.Exists(directory))
            {
                return null;
            }

            foreach (var file in System.IO.Directory.GetFiles(directory).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(file);
                var included = !name.StartsWith('.') && (name.EndsWith(".conf", StringComparison.Ordinal)
                                                         || name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));
                if (included && FindLibdefault(file, tag, depth + 1) is string value)
                {
                    return value;
                }
            }

            return null;
        }

        return FindLibdefault(line["include ".Length..].Trim(), tag, depth + 1);
    }

    private static string Unquote(string value)
    {
        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
        {
            return value[1..^1].Replace("\\\\", "\\", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal);
        }

        return value;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"%\{([^}]*)\}")]
    private static partial System.Text.RegularExpressions.Regex TokenRegex();

    [LibraryImport("libc", EntryPoint = "getuid")]
    private static partial uint GetUid();
}
