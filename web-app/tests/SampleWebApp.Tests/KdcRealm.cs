using System.Diagnostics;

namespace SampleWebApp.Tests;

/// <summary>
/// A throwaway MIT Kerberos realm on 127.0.0.1 (Debian's krb5-kdc, krb5-admin-server and krb5-user): its own
/// krb5.conf and kdc.conf in a temporary directory (KRB5_CONFIG, KRB5_KDC_PROFILE), one user, a krb5kdc on a free
/// port. Every command is bounded by a timeout; Dispose stops the KDC and deletes everything.
/// </summary>
internal sealed class KdcRealm : IDisposable
{
    public const string Realm = "GMSA.TEST";
    private const string User = "webapp";
    private const string Password = "throwaway-Passw0rd";

    private static readonly string[] Tools = ["/usr/sbin/krb5kdc", "/usr/sbin/kdb5_util", "/usr/sbin/kadmin.local", "/usr/bin/kinit"];

    private readonly Process _kdc;

    private KdcRealm(string directory, Process kdc)
    {
        Directory = directory;
        _kdc = kdc;
    }

    /// <summary>True when the MIT Kerberos tools are installed.</summary>
    public static bool Installed => Tools.All(File.Exists);

    /// <summary>The temporary directory holding the configuration, the database and the caches.</summary>
    public string Directory { get; }

    /// <summary>The client configuration (for KRB5_CONFIG of the app too).</summary>
    public string Krb5Conf => Path.Combine(Directory, "krb5.conf");

    public static async Task<KdcRealm> StartAsync()
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("kdc-").FullName;
        var port = AppProcess.FreePort();
        await File.WriteAllTextAsync(Path.Combine(directory, "krb5.conf"), $"""
            [libdefaults]
                default_realm = {Realm}
                dns_lookup_kdc = false
                dns_lookup_realm = false
                rdns = false
                dns_canonicalize_hostname = false
            [realms]
                {Realm} = {"{"}
                    kdc = 127.0.0.1:{port}
                {"}"}
            """);
        await File.WriteAllTextAsync(Path.Combine(directory, "kdc.conf"), $"""
            [kdcdefaults]
                kdc_ports = {port}
                kdc_tcp_ports = {port}
            [realms]
                {Realm} = {"{"}
                    database_name = {directory}/principal
                    key_stash_file = {directory}/stash
                    acl_file = {directory}/kadm5.acl
                    kdc_ports = {port}
                    kdc_tcp_ports = {port}
                    max_life = 1h
                {"}"}
            [logging]
                kdc = FILE:{directory}/kdc.log
            """);

        try
        {
            await RunAsync(directory, "/usr/sbin/kdb5_util", ["-r", Realm, "create", "-s", "-P", "throwaway-master-key"]);
            await RunAsync(directory, "/usr/sbin/kadmin.local", ["-r", Realm, "-q", $"addprinc -pw {Password} {User}"]);
        }
        catch
        {
            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }

        var kdc = Process.Start(Start(directory, "/usr/sbin/krb5kdc", ["-n", "-r", Realm]))!;
        var realm = new KdcRealm(directory, kdc);
        // Ready when it accepts TCP on its port (bounded).
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var probe = new System.Net.Sockets.TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
                return realm;
            }
            catch (System.Net.Sockets.SocketException) when (attempt < 50 && !kdc.HasExited)
            {
                await Task.Delay(100);
            }
            catch
            {
                realm.Dispose();
                throw;
            }
        }
    }

    /// <summary>Gets a TGT for the user into a cache (<c>FILE:...</c> or <c>DIR:...</c>), the password on stdin.</summary>
    /// <param name="cache">The cache to write.</param>
    /// <param name="lifetime">The ticket's lifetime (kinit -l), or the realm's.</param>
    /// <param name="ccacheType">The FILE cache format version kinit writes (krb5.conf's ccache_type, 1 to 4; MIT's default is 4).</param>
    public async Task KinitAsync(string cache, string? lifetime = null, int? ccacheType = null)
    {
        List<string> arguments = ["-c", cache];
        if (lifetime is not null)
        {
            arguments.AddRange(["-l", lifetime]);
        }

        arguments.Add(User);
        string? config = null;
        if (ccacheType is int version)
        {
            config = Path.Combine(Directory, $"krb5-ccache-type-{version}.conf");
            await File.WriteAllTextAsync(config,
                (await File.ReadAllTextAsync(Krb5Conf)).Replace("[libdefaults]", $"[libdefaults]\n    ccache_type = {version}"));
        }

        await RunAsync(Directory, "/usr/bin/kinit", arguments, stdin: Password + "\n", config: config);
    }

    public void Dispose()
    {
        if (!_kdc.HasExited)
        {
            _kdc.Kill(entireProcessTree: true);
            _kdc.WaitForExit(5000);
        }

        _kdc.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private static ProcessStartInfo Start(string directory, string tool, IEnumerable<string> arguments, string? config = null)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["KRB5_CONFIG"] = config ?? Path.Combine(directory, "krb5.conf");
        start.Environment["KRB5_KDC_PROFILE"] = Path.Combine(directory, "kdc.conf");
        start.Environment.Remove("KRB5CCNAME");
        return start;
    }

    private static async Task RunAsync(string directory, string tool, IEnumerable<string> arguments, string stdin = "", string? config = null)
    {
        using var process = Process.Start(Start(directory, tool, arguments, config))!;
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} did not finish within 20 s");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} exited with {process.ExitCode}: {await output}{await error}");
        }
    }
}

/// <summary>
/// A test that needs the MIT Kerberos KDC packages. Skipped when they are missing on a developer's machine;
/// in CI (CI=true) it runs and fails instead, so that a missing package can never hide the test.
/// </summary>
internal sealed class KdcFactAttribute : FactAttribute
{
    public KdcFactAttribute()
    {
        if (!KdcRealm.Installed && Environment.GetEnvironmentVariable("CI") != "true")
        {
            Skip = "MIT Kerberos KDC not installed: apt-get install krb5-kdc krb5-admin-server krb5-user --no-install-recommends";
        }
    }
}
