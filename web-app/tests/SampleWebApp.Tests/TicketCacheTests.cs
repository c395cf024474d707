using System.Diagnostics;
using System.Net.Sockets;
using SampleWebApp.Diagnostics;

namespace SampleWebApp.Tests;

/// <summary>The ticket-cache check that runs before every login, on files written here.</summary>
public sealed class TicketCacheTests : IDisposable
{
    private static readonly DateTime Now = new(2030, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private readonly string _directory = Directory.CreateTempSubdirectory("krbcheck-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static TicketCacheStatus Inspect(string setting) =>
        TicketCache.Inspect(new CacheName(setting, CacheNameSource.Variable), Now);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Cache_with_a_ticket_that_has_not_ended_is_usable_with_its_end_time_and_principal()
    {
        var path = Write("krb5cc", Ccache.Version4(Now.AddHours(-2), Now.AddHours(8)));

        var status = Inspect($"FILE:{path}");

        Assert.Equal(TicketCacheState.Usable, status.State);
        Assert.Equal(Now.AddHours(8), status.EndsUtc);
        Assert.Equal("user@EXAMPLE.TEST", status.Principal);
        Assert.Equal("EXAMPLE.TEST", status.Realm);
        Assert.True(status.AllowsLogin);
        Assert.Equal(path, status.Path);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Every_version_MIT_reads_is_parsed_whole(int version)
    {
        // Versions 1 and 2 used to pass unread as "usable"; now each is parsed and needs a ticket like version 4.
        Assert.Equal(TicketCacheState.Usable, Inspect(Write("krb5cc", Ccache.Version(version, Now.AddHours(8)))).State);
        Assert.Equal(TicketCacheState.Expired, Inspect(Write("krb5cc", Ccache.Version(version, Now.AddHours(-1)))).State);
        Assert.Equal(TicketCacheState.Empty, Inspect(Write("krb5cc", Ccache.Version(version))).State);
    }

    [Fact]
    public void Cache_whose_tickets_all_ended_is_expired_and_stops_the_login()
    {
        var path = Write("krb5cc", Ccache.Version4(Now.AddSeconds(-1)));

        var status = Inspect(path);

        Assert.Equal(TicketCacheState.Expired, status.State);
        Assert.Equal("expired", status.StateName);
        Assert.False(status.AllowsLogin);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Header_alone_is_not_a_ticket_cache(int version)
    {
        var status = Inspect(Write("krb5cc", Ccache.HeaderOnly(version)));

        Assert.Equal(TicketCacheState.NotATicketCache, status.State);
        Assert.False(status.AllowsLogin);
    }

    [Theory]
    [InlineData(new byte[0], TicketCacheState.Empty)]
    [InlineData(new byte[] { 0x05 }, TicketCacheState.NotATicketCache)]
    [InlineData(new byte[] { 0x05, 0x04 }, TicketCacheState.NotATicketCache)]
    [InlineData(new byte[] { 0x05, 0x02 }, TicketCacheState.NotATicketCache)]
    [InlineData(new byte[] { 0x05, 0x01, 0x67, 0x61, 0x72, 0x62 }, TicketCacheState.NotATicketCache)]
    [InlineData(new byte[] { 0x05, 0x05, 0, 0 }, TicketCacheState.NotATicketCache)]
    [InlineData(new byte[] { 0x04, 0x04, 0, 0 }, TicketCacheState.NotATicketCache)]
    [InlineData(new byte[] { 0x05, 0x04, 0x00, 0x0c, 0x00, 0x01 }, TicketCacheState.NotATicketCache)]
    [InlineData(new byte[] { (byte)'g', (byte)'a', (byte)'r', (byte)'b', (byte)'a', (byte)'g', (byte)'e' }, TicketCacheState.NotATicketCache)]
    public void Bad_files_are_named_exactly_and_stop_the_login(byte[] bytes, TicketCacheState expected)
    {
        var status = Inspect($"FILE:{Write("krb5cc", bytes)}");

        Assert.Equal(expected, status.State);
        Assert.False(status.AllowsLogin);
    }

    [Fact]
    public void Header_followed_by_garbage_is_not_a_ticket_cache()
    {
        var path = Write("krb5cc", [.. Ccache.HeaderOnly(4), .. "garbage after the header"u8.ToArray()]);

        Assert.Equal(TicketCacheState.NotATicketCache, Inspect(path).State);
    }

    [Fact]
    public void Truncated_cache_and_a_whole_one_followed_by_garbage_are_not_ticket_caches()
    {
        var whole = Ccache.Version4(Now.AddHours(8));

        Assert.Equal(TicketCacheState.NotATicketCache, Inspect(Write("krb5cc", whole[..(whole.Length - 3)])).State);
        Assert.Equal(TicketCacheState.NotATicketCache, Inspect(Write("krb5cc", [.. whole, 1, 2, 3])).State);
    }

    [Fact]
    public void Cache_without_tickets_is_empty()
    {
        Assert.Equal(TicketCacheState.Empty, Inspect(Write("krb5cc", Ccache.Version4())).State);
    }

    [Fact]
    public async Task Fifo_is_not_opened_and_is_named_at_once()
    {
        // GIVEN a named pipe that nothing writes to (opening it for reading the usual way blocks until something does)
        var fifo = Path.Combine(_directory, "krb5cc");
        Assert.Equal(0, Mkfifo(fifo));

        // WHEN it is inspected (bounded: a check that opens it the blocking way would otherwise hang the test run)
        var clock = Stopwatch.StartNew();
        var status = await Task.Run(() => Inspect($"FILE:{fifo}")).WaitAsync(TimeSpan.FromSeconds(5));

        // THEN it is named for what it is, without waiting, and stops the login
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(TicketCacheState.NotAFile, status.State);
        Assert.Equal("not-a-file", status.StateName);
        Assert.Contains("named pipe (FIFO)", status.Explanation);
        Assert.False(status.AllowsLogin);
    }

    [Fact]
    public void Socket_and_character_device_are_not_files()
    {
        var socketPath = Path.Combine(_directory, "socket");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));

        var socketStatus = Inspect(socketPath);
        var device = Inspect("FILE:/dev/null");

        Assert.Equal(TicketCacheState.NotAFile, socketStatus.State);
        Assert.Contains("socket", socketStatus.Explanation);
        Assert.Equal(TicketCacheState.NotAFile, device.State);
        Assert.Contains("character device", device.Explanation);
    }

    [Fact]
    public async Task Fifo_named_as_a_DIR_collection_primary_is_not_opened()
    {
        Assert.Equal(0, Mkfifo(Path.Combine(_directory, "primary")));
        Write("tkt", Ccache.Version4(Now.AddHours(8)));

        var clock = Stopwatch.StartNew();
        var status = await Task.Run(() => Inspect($"DIR:{_directory}")).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(TicketCacheState.Usable, status.State);
    }

    [Fact]
    public void Directory_without_DIR_prefix_says_so_and_tells_the_fix()
    {
        var status = Inspect(_directory);

        Assert.Equal(TicketCacheState.Directory, status.State);
        Assert.Contains($"DIR:{_directory}", status.Explanation);
        Assert.False(status.AllowsLogin);
    }

    [Fact]
    public void Missing_file_is_missing()
    {
        Assert.Equal(TicketCacheState.Missing, Inspect($"FILE:{_directory}/absent").State);
        Assert.Equal(TicketCacheState.Missing, Inspect($"DIR:{_directory}/absent").State);
        Assert.Equal(TicketCacheState.Missing, Inspect($"DIR::{_directory}/absent").State);
    }

    [Fact]
    public void Empty_DIR_collection_is_empty()
    {
        Assert.Equal(TicketCacheState.Empty, Inspect($"DIR:{_directory}").State);
    }

    [Fact]
    public void DIR_collection_uses_the_cache_its_primary_file_names_and_DIR_double_colon_names_one_cache()
    {
        Write("tkt", Ccache.Version4(Now.AddHours(8)));
        Write("tktBROKEN", [1, 2, 3]);
        Assert.Equal(TicketCacheState.Usable, Inspect($"DIR:{_directory}").State);

        Write("primary", "tktBROKEN\n"u8.ToArray());
        Assert.Equal(TicketCacheState.NotATicketCache, Inspect($"DIR:{_directory}").State);
        Assert.Equal(TicketCacheState.Usable, Inspect($"DIR::{_directory}/tkt").State);
    }

    [Theory]
    [InlineData("KEYRING:persistent:0")]
    [InlineData("KCM:")]
    [InlineData("MEMORY:x")]
    public void Cache_types_that_are_not_files_are_not_checked_and_still_allow_the_login(string setting)
    {
        var status = Inspect(setting);

        Assert.Equal(TicketCacheState.NotChecked, status.State);
        Assert.Equal("not-checked", status.StateName);
        Assert.True(status.AllowsLogin);
    }

    [Fact]
    public void Explanations_are_sentences_that_say_who_writes_the_cache()
    {
        var local = new TicketCacheStatus(new CacheName("FILE:/tmp/krb5cc_1000", CacheNameSource.Variable), "/tmp/krb5cc_1000", TicketCacheState.Expired);
        var ecs = local with { Path = "/var/credentials-fetcher/krbdir/krb5cc" };

        Assert.Equal("Every ticket in it has ended. Get a new ticket with kinit.", local.Explanation);
        Assert.StartsWith("Every ticket in it has ended. credentials-fetcher is not renewing it", ecs.Explanation);
        Assert.DoesNotContain("credentials-fetcher", (local with { State = TicketCacheState.Missing }).Explanation);
        Assert.Equal("/tmp/krb5cc_1000: Every ticket in it has ended. Get a new ticket with kinit.", local.Problem);
    }

    [Fact]
    public void Explanations_of_the_Kerberos_sidecars_cache_name_the_sidecar_and_its_log()
    {
        var sidecar = new TicketCacheStatus(new CacheName("FILE:/var/kerberos/krb5cc", CacheNameSource.Variable), "/var/kerberos/krb5cc", TicketCacheState.Missing);

        Assert.Equal(
            "There is no file there. The Kerberos sidecar has not written a ticket: read the kerberos-sidecar log stream of the task " +
            "(a wrong password or an unreachable domain controller stops its kinit).",
            sidecar.Explanation);
        foreach (var state in new[] { TicketCacheState.Expired, TicketCacheState.Empty, TicketCacheState.NotATicketCache })
        {
            Assert.Contains("Kerberos sidecar", (sidecar with { State = state }).Explanation);
            Assert.DoesNotContain("kinit -c", (sidecar with { State = state }).Explanation);
        }
        Assert.EndsWith("run the app as that user.", (sidecar with { State = TicketCacheState.Unreadable }).Explanation);
        Assert.DoesNotContain("credentials-fetcher", (sidecar with { State = TicketCacheState.Unreadable }).Explanation);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string path, uint mode);

    private static int Mkfifo(string path) => mkfifo(path, Convert.ToUInt32("600", 8));
}
