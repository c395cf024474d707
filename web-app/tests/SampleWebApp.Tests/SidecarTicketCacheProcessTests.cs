using System.Diagnostics;
using System.Text.Json;

namespace SampleWebApp.Tests;

/// <summary>
/// The Kerberos sidecar's cache, as the app reads it in the sidecar mode: kerberos-sidecar/kerberos-sidecar.sh gets a
/// ticket from a throwaway MIT KDC and writes the cache (owner 1654, mode 0600, renamed into place); the app, pointed
/// at it through KRB5CCNAME, must find it usable. The sidecar's own tests are in test/scripts/kerberos-sidecar.test.ts.
/// </summary>
[Collection(AppProcessCollection.Name)]
public sealed class SidecarTicketCacheProcessTests
{
    private const string SidecarUser = "ecs-sidecar-user";
    private const string SidecarPassword = "Sidecar-Passw0rd";

    [KdcFact]
    public async Task A_cache_written_by_the_sidecar_script_is_usable()
    {
        // GIVEN a realm with the sidecar's user, and its secret in a file (the script's `file:` secret source)
        using var realm = await KdcRealm.StartAsync();
        await RunAsync("/usr/sbin/kadmin.local", realm, ["-r", KdcRealm.Realm, "-q", $"addprinc -pw {SidecarPassword} {SidecarUser}"]);
        var secret = Path.Combine(realm.Directory, "secret.json");
        await File.WriteAllTextAsync(secret, JsonSerializer.Serialize(new { username = SidecarUser, password = SidecarPassword, domainName = KdcRealm.Realm.ToLowerInvariant() }));
        var volume = Directory.CreateDirectory(Path.Combine(realm.Directory, "volume")).FullName;
        var cache = Path.Combine(volume, "krb5cc");

        // WHEN the sidecar script gets one ticket
        await RunAsync("/bin/bash", realm, [SidecarScript(), "once"], new Dictionary<string, string>
        {
            ["SECRET_SOURCE"] = $"file:{secret}",
            ["TICKET_CACHE"] = cache,
        });

        // THEN the cache is the app user's, and the app reports it usable (and lives through the login that follows)
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(cache));
        }

        using var sql = new FakeTdsServer();
        using var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings__Chinook"] =
                $"Server=127.0.0.1,{sql.Port};Database=Chinook;Integrated Security=true;TrustServerCertificate=true;Encrypt=Optional",
            ["KRB5CCNAME"] = $"FILE:{cache}",
            ["KRB5_CONFIG"] = realm.Krb5Conf,
        });
        var (_, json, _) = await app.GetAsync("/api/status");
        using var document = JsonDocument.Parse(json);
        Assert.Equal("usable", document.RootElement.GetProperty("ticketCache").GetProperty("state").GetString());
        Assert.True(app.IsAlive, app.Output);
    }

    /// <summary>kerberos-sidecar/kerberos-sidecar.sh, found from the test's output directory up to the repository.</summary>
    private static string SidecarScript()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var script = Path.Combine(directory.FullName, "kerberos-sidecar", "kerberos-sidecar.sh");
            if (File.Exists(script))
            {
                return script;
            }
        }

        throw new FileNotFoundException("kerberos-sidecar/kerberos-sidecar.sh not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Runs a tool with the realm's configuration, bounded to 30 s; throws with its output unless it exits 0.</summary>
    private static async Task RunAsync(string tool, KdcRealm realm, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["KRB5_CONFIG"] = realm.Krb5Conf;
        start.Environment["KRB5_KDC_PROFILE"] = Path.Combine(realm.Directory, "kdc.conf");
        start.Environment.Remove("KRB5CCNAME");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"{tool} exited with {process.ExitCode}: {await output}{await error}");
    }
}
