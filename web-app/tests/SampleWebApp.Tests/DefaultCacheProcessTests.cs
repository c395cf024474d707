using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace SampleWebApp.Tests;

/// <summary>
/// The real app, as a process, with <c>KRB5CCNAME</c> unset (as <c>dotnet run</c> on a developer's machine leaves it):
/// the Kerberos library then uses krb5.conf's <c>default_ccache_name</c>, else <c>/tmp/krb5cc_&lt;uid&gt;</c>. Before, the
/// app checked only <c>KRB5CCNAME</c>, and a zero-byte or garbage default cache killed the process at the first login
/// (SIGSEGV in libkrb5, behind .NET's NegotiateAuthentication).
/// </summary>
[Collection(AppProcessCollection.Name)]
public sealed class DefaultCacheProcessTests : IDisposable
{
    private static string ConnectionString(int port) =>
        $"Server=127.0.0.1,{port};Database=Chinook;Integrated Security=true;TrustServerCertificate=true;Encrypt=Optional";

    private readonly string _directory = Directory.CreateTempSubdirectory("krbdefault-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [KdcFact]
    public async Task Garbage_or_zero_byte_default_cache_from_krb5_conf_is_named_on_a_page_and_the_process_survives()
    {
        // GIVEN a realm's krb5.conf (the KDC answers, so nothing stops the library before it reads the cache), with
        // default_ccache_name naming a garbage file, no KRB5CCNAME, and a fake SQL Server that gets the driver to the Kerberos step
        using var realm = await KdcRealm.StartAsync();
        using var sql = new FakeTdsServer();
        var conf = Path.Combine(_directory, "krb5.conf");
        await File.WriteAllTextAsync(conf,
            (await File.ReadAllTextAsync(realm.Krb5Conf)).Replace("[libdefaults]", $"[libdefaults]\n    default_ccache_name = FILE:{_directory}/krb5cc_%{{uid}}"));
        var cache = Path.Combine(_directory, $"krb5cc_{Uid()}");
        await File.WriteAllTextAsync(cache, "this is not a ticket cache\n");
        using var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings__Chinook"] = ConnectionString(sql.Port),
            ["KRB5_CONFIG"] = conf,
        });

        foreach (var (name, bytes) in new[] { ("garbage", "this is not a ticket cache\n"u8.ToArray()), ("zero-byte", Array.Empty<byte>()) })
        {
            await File.WriteAllBytesAsync(cache, bytes);

            // WHEN the page and the status are requested
            var (status, body, elapsed) = await app.GetAsync("/");
            var (_, json, _) = await app.GetAsync("/api/status");

            // THEN the page names that file and where its name came from, quickly, and the process lives
            Assert.True(app.IsAlive, $"{name}: the app died\n{app.Output}");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.True(elapsed < TimeSpan.FromSeconds(6), $"{name}: / took {elapsed.TotalSeconds:F1} s");
            Assert.Contains($"<code>{cache}</code>", body);
            Assert.Contains($"default_ccache_name in {conf}", body);
            Assert.Contains("The Kerberos ticket cache is not usable, so the app did not try to log in", body);
            using var document = JsonDocument.Parse(json);
            Assert.Equal(cache, document.RootElement.GetProperty("ticketCache").GetProperty("location").GetString());
        }

        Assert.Equal(0, sql.Connections);
        Assert.True(app.IsAlive, app.Output);
    }

    [PrivateTmpFact]
    public async Task Garbage_tmp_krb5cc_uid_is_named_on_a_page_and_the_process_survives()
    {
        // GIVEN the app in its own mount namespace with an empty /tmp (so that no real cache of the machine is touched),
        // where /tmp/krb5cc_<uid> is garbage, no KRB5CCNAME and a krb5.conf without default_ccache_name
        using var sql = new FakeTdsServer();
        var conf = Path.Combine(_directory, "krb5.conf");
        await File.WriteAllTextAsync(conf, "[libdefaults]\n    default_realm = GMSA.TEST\n    dns_lookup_kdc = false\n");
        using var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings__Chinook"] = ConnectionString(sql.Port),
            ["KRB5_CONFIG"] = conf,
        }, PrivateTmpFactAttribute.Wrapper(PrivateTmpFactAttribute.EmptyTmp + " && echo garbage > /tmp/krb5cc_$(id -u) && exec \"$@\""));

        // WHEN the page is requested
        var (status, body, elapsed) = await app.GetAsync("/");

        // THEN it names /tmp/krb5cc_<uid> as the library's built-in default, and the process lives
        Assert.True(app.IsAlive, app.Output);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(elapsed < TimeSpan.FromSeconds(6), $"/ took {elapsed.TotalSeconds:F1} s");
        Assert.Matches("<code>/tmp/krb5cc_[0-9]+</code>", body);
        Assert.Contains("data-state=\"not-a-ticket-cache\"", body);
        Assert.Contains("the Kerberos library&#x27;s built-in default cache", body);
        Assert.Equal(0, sql.Connections);
    }

    private static string Uid()
    {
        using var id = Process.Start(new ProcessStartInfo("id", "-u") { RedirectStandardOutput = true })!;
        var uid = id.StandardOutput.ReadToEnd().Trim();
        id.WaitForExit(5000);
        return uid;
    }
}

/// <summary>
/// A test that runs the app with a private, empty /tmp (a mount namespace from util-linux's unshare: as root, or in a
/// user namespace where the user maps to root). Skipped, saying why, where neither is allowed (e.g. a container
/// without CAP_SYS_ADMIN): writing the machine's own /tmp/krb5cc_&lt;uid&gt; could destroy a real ticket.
/// </summary>
internal sealed class PrivateTmpFactAttribute : FactAttribute
{
    private static readonly Lazy<string[]?> Prefix = new(Probe);

    public PrivateTmpFactAttribute()
    {
        if (Prefix.Value is null)
        {
            Skip = "unshare cannot make a mount namespace here (needs root or unprivileged user namespaces)";
        }
    }

    /// <summary>
    /// Shell commands that mount an empty /tmp. When the app's folder (the working directory) is itself under /tmp, as in
    /// a clone made there, its top folder is bound back from the old /tmp (kept reachable on a private tmpfs over /mnt,
    /// inside the namespace only): otherwise the app could not start.
    /// </summary>
    public const string EmptyTmp =
        "case \"$PWD\" in " +
        "/tmp/*) top=${PWD#/tmp/}; top=${top%%/*}; mount -t tmpfs tmpfs /mnt && mkdir /mnt/old && " +
        "mount --bind /tmp /mnt/old && mount -t tmpfs tmpfs /tmp && mkdir -p \"/tmp/$top\" && " +
        "mount --bind \"/mnt/old/$top\" \"/tmp/$top\" ;; " +
        "*) mount -t tmpfs tmpfs /tmp ;; esac";

    /// <summary>The command that runs <paramref name="script"/> (with the app's command line as "$@") in a private namespace.</summary>
    public static string[] Wrapper(string script) => [.. Prefix.Value!, "sh", "-c", script, "sh"];

    private static string[]? Probe()
    {
        string[][] candidates =
        [
            ["unshare", "--mount", "--propagation", "private"],
            ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"],
        ];
        foreach (var candidate in candidates)
        {
            try
            {
                var start = new ProcessStartInfo(candidate[0]) { RedirectStandardError = true, RedirectStandardOutput = true };
                foreach (var argument in candidate.Skip(1).Concat(["sh", "-c", "mount -t tmpfs tmpfs /tmp"]))
                {
                    start.ArgumentList.Add(argument);
                }

                using var process = Process.Start(start)!;
                if (process.WaitForExit(5000) && process.ExitCode == 0)
                {
                    return candidate;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return null; // no unshare
            }
        }

        return null;
    }
}
