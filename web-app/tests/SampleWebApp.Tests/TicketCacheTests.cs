using SampleWebApp.Diagnostics;

namespace SampleWebApp.Tests;

/// <summary>The ticket-cache check that runs before every login, on files written here.</summary>
public sealed class TicketCacheTests : IDisposable
{
    private static readonly DateTime Now = new(2030, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private readonly string _directory = Directory.CreateTempSubdirectory("krbcheck-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Cache_with_a_ticket_that_has_not_ended_is_usable_with_its_end_time()
    {
        var path = Write("krb5cc", Ccache.Version4(Now.AddHours(-2), Now.AddHours(8)));

        var status = TicketCache.Inspect($"FILE:{path}", Now);

        Assert.Equal(TicketCacheState.Usable, status.State);
        Assert.Equal(Now.AddHours(8), status.EndsUtc);
        Assert.True(status.AllowsLogin);
        Assert.Equal(path, status.Path);
    }

    [Fact]
    public void Cache_whose_tickets_all_ended_is_expired_and_stops_the_login()
    {
        var path = Write("krb5cc", Ccache.Version4(Now.AddSeconds(-1)));

        var status = TicketCache.Inspect(path, Now);

        Assert.Equal(TicketCacheState.Expired, status.State);
        Assert.Equal("expired", status.StateName);
        Assert.False(status.AllowsLogin);
    }

    [Theory]
    [InlineData(new byte[0], TicketCacheState.Empty)]
    [InlineData(new byte[] { 0x05 }, TicketCacheState.NotATicketCache)]
    [InlineData(new byte[] { 0x05, 0x05, 0, 0 }, TicketCacheState.NotATicketCache)]
    [InlineData(new byte[] { 0x04, 0x04, 0, 0 }, TicketCacheState.NotATicketCache)]
    [InlineData(new byte[] { 0x05, 0x04, 0x00, 0x0c, 0x00, 0x01 }, TicketCacheState.NotATicketCache)]
    [InlineData(new byte[] { (byte)'g', (byte)'a', (byte)'r', (byte)'b', (byte)'a', (byte)'g', (byte)'e' }, TicketCacheState.NotATicketCache)]
    public void Bad_files_are_named_exactly_and_stop_the_login(byte[] bytes, TicketCacheState expected)
    {
        var path = Write("krb5cc", bytes);

        var status = TicketCache.Inspect($"FILE:{path}", Now);

        Assert.Equal(expected, status.State);
        Assert.False(status.AllowsLogin);
    }

    [Fact]
    public void Truncated_cache_is_not_a_ticket_cache()
    {
        var whole = Ccache.Version4(Now.AddHours(8));
        var path = Write("krb5cc", whole[..(whole.Length - 3)]);

        Assert.Equal(TicketCacheState.NotATicketCache, TicketCache.Inspect(path, Now).State);
    }

    [Fact]
    public void Cache_without_tickets_is_empty()
    {
        var path = Write("krb5cc", Ccache.Version4());

        Assert.Equal(TicketCacheState.Empty, TicketCache.Inspect(path, Now).State);
    }

    [Fact]
    public void Directory_without_DIR_prefix_says_so_and_tells_the_fix()
    {
        var status = TicketCache.Inspect(_directory, Now);

        Assert.Equal(TicketCacheState.Directory, status.State);
        Assert.Contains($"DIR:{_directory}", status.Explanation);
        Assert.False(status.AllowsLogin);
    }

    [Fact]
    public void Missing_file_is_missing()
    {
        Assert.Equal(TicketCacheState.Missing, TicketCache.Inspect($"FILE:{_directory}/absent", Now).State);
        Assert.Equal(TicketCacheState.Missing, TicketCache.Inspect($"DIR:{_directory}/absent", Now).State);
    }

    [Fact]
    public void Empty_DIR_collection_is_empty()
    {
        Assert.Equal(TicketCacheState.Empty, TicketCache.Inspect($"DIR:{_directory}", Now).State);
    }

    [Fact]
    public void DIR_collection_uses_the_cache_its_primary_file_names()
    {
        Write("tkt", Ccache.Version4(Now.AddHours(8)));
        Write("tktBROKEN", [1, 2, 3]);
        Assert.Equal(TicketCacheState.Usable, TicketCache.Inspect($"DIR:{_directory}", Now).State);

        Write("primary", "tktBROKEN\n"u8.ToArray());
        Assert.Equal(TicketCacheState.NotATicketCache, TicketCache.Inspect($"DIR:{_directory}", Now).State);
    }

    [Theory]
    [InlineData("KEYRING:persistent:0")]
    [InlineData("KCM:")]
    [InlineData("MEMORY:x")]
    [InlineData(null)]
    [InlineData("  ")]
    public void Other_cache_types_and_no_setting_are_not_checked_and_still_allow_the_login(string? setting)
    {
        var status = TicketCache.Inspect(setting, Now);

        Assert.Equal(TicketCacheState.NotChecked, status.State);
        Assert.Equal("not-checked", status.StateName);
        Assert.True(status.AllowsLogin);
    }
}
