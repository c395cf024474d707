using System.Diagnostics;
using SampleWebApp.Diagnostics;

namespace SampleWebApp.Tests;

/// <summary>
/// Finding the ticket cache the Kerberos library will use, as MIT's krb5_cc_default_name does: KRB5CCNAME, else
/// default_ccache_name from the krb5.conf files (KRB5_CONFIG, else /etc/krb5.conf), else FILE:/tmp/krb5cc_%{uid}.
/// https://web.mit.edu/kerberos/krb5-latest/doc/basic/ccache_def.html
/// </summary>
public sealed class KerberosEnvironmentTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("krbenv-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static KerberosEnvironment Environment(string? krb5ccname, string? krb5Config, string? tmpdir = null) =>
        new(name => name switch
        {
            "KRB5CCNAME" => krb5ccname,
            "KRB5_CONFIG" => krb5Config,
            "TMPDIR" => tmpdir,
            _ => null,
        }, 1234);

    private string Conf(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void KRB5CCNAME_wins_over_krb5_conf()
    {
        var conf = Conf("krb5.conf", "[libdefaults]\n    default_ccache_name = FILE:/elsewhere\n");

        var name = Environment("FILE:/var/credentials-fetcher/krbdir/krb5cc", conf).ResolveCacheName();

        Assert.Equal(new CacheName("FILE:/var/credentials-fetcher/krbdir/krb5cc", CacheNameSource.Variable), name);
    }

    [Fact]
    public void Unset_KRB5CCNAME_uses_default_ccache_name_of_the_first_krb5_conf_that_has_one_with_its_parameters_expanded()
    {
        // GIVEN two krb5.conf files in KRB5_CONFIG: the first without default_ccache_name (but with a realm subsection that has one)
        var first = Conf("first.conf", """
            [realms]
                EXAMPLE.TEST = {
                    default_ccache_name = FILE:/not/this/one
                }
            [libdefaults]
                default_realm = EXAMPLE.TEST
                EXAMPLE.TEST = {
                    default_ccache_name = FILE:/nor/this/one
                }
            """);
        var second = Conf("second.conf", "# comment\n[libdefaults]\n ; another comment\n  default_ccache_name = FILE:%{TEMP}/krb5cc_%{uid}_%{null}x\n");

        // WHEN the cache name is resolved without KRB5CCNAME
        var name = Environment(null, $"{Path.Combine(_directory, "absent.conf")}:{first}:{second}", tmpdir: "/scratch").ResolveCacheName();

        // THEN it is the second file's, expanded as MIT expands it
        Assert.Equal(new CacheName("FILE:/scratch/krb5cc_1234_x", CacheNameSource.Krb5Conf, second), name);
        Assert.Contains(second, name.SourceText);
        Assert.StartsWith("KRB5CCNAME is not set", name.SourceText);
    }

    [Fact]
    public void Without_KRB5CCNAME_or_default_ccache_name_it_is_the_built_in_default_for_the_user()
    {
        var conf = Conf("krb5.conf", "[libdefaults]\n default_realm = EXAMPLE.TEST\n");

        var name = Environment("", conf).ResolveCacheName();

        Assert.Equal(new CacheName("FILE:/tmp/krb5cc_1234", CacheNameSource.BuiltIn), name);
    }

    [Fact]
    public void Include_and_includedir_are_followed_and_quoted_values_unquoted()
    {
        var included = Directory.CreateDirectory(Path.Combine(_directory, "krb5.conf.d")).FullName;
        File.WriteAllText(Path.Combine(included, ".hidden.conf"), "[libdefaults]\n default_ccache_name = FILE:/hidden\n");
        File.WriteAllText(Path.Combine(included, "skip.txt"), "[libdefaults]\n default_ccache_name = FILE:/skipped\n");
        File.WriteAllText(Path.Combine(included, "ccache.conf"), "[libdefaults]\n default_ccache_name = \"DIR:/run/user/%{uid}/krb5cc\"\n");
        var conf = Conf("krb5.conf", $"include {Path.Combine(_directory, "absent.conf")}\nincludedir {included}\n[libdefaults]\n default_realm = X\n");

        var name = Environment(null, conf).ResolveCacheName();

        Assert.Equal("DIR:/run/user/1234/krb5cc", name.Name);
        Assert.Equal(CacheNameSource.Krb5Conf, name.Source);
    }

    [Fact]
    public async Task A_FIFO_as_krb5_conf_is_skipped_at_once()
    {
        var fifo = Path.Combine(_directory, "krb5.conf");
        Assert.Equal(0, mkfifo(fifo, Convert.ToUInt32("600", 8)));

        var clock = Stopwatch.StartNew();
        var name = await Task.Run(() => Environment(null, fifo).ResolveCacheName()).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(CacheNameSource.BuiltIn, name.Source);
    }

    [Fact]
    public void The_process_reads_its_own_user_id()
    {
        // The built-in default is /tmp/krb5cc_<getuid()>: compare with what `id -u` says.
        using var id = Process.Start(new ProcessStartInfo("id", "-u") { RedirectStandardOutput = true })!;
        var uid = id.StandardOutput.ReadToEnd().Trim();
        id.WaitForExit(5000);
        var environment = new KerberosEnvironment(_ => null, uint.Parse(uid, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal($"FILE:/tmp/krb5cc_{uid}", environment.Expand(KerberosEnvironment.BuiltInDefault));
        Assert.Equal(environment.Expand(KerberosEnvironment.BuiltInDefault),
            new KerberosEnvironment(_ => null, GetUidThroughTheApp()).Expand(KerberosEnvironment.BuiltInDefault));
    }

    // OfThisProcess reads this process's KRB5CCNAME: set nothing, just read its uid back through the built-in default.
    private static uint GetUidThroughTheApp()
    {
        var name = KerberosEnvironment.OfThisProcess().Expand("%{uid}");
        return uint.Parse(name, System.Globalization.CultureInfo.InvariantCulture);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string path, uint mode);
}
