using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using SampleWebApp.Data;
using SampleWebApp.Diagnostics;

namespace SampleWebApp.Tests;

/// <summary>The small pieces behind the page, without a web host.</summary>
public sealed class DiagnosticsTests
{
    [Theory]
    [InlineData("sqlserver01.directory.example.com", "sqlserver01.directory.example.com")]
    [InlineData("tcp:sqlserver01.directory.example.com,1433", "sqlserver01.directory.example.com")]
    [InlineData(@"sqlserver01.directory.example.com\SQLEXPRESS", "sqlserver01.directory.example.com")]
    [InlineData("  sqlserver01 ", "sqlserver01")]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void Host_of_a_data_source_drops_protocol_port_and_instance(string? dataSource, string? expected)
    {
        Assert.Equal(expected, SqlChinookDataSource.HostOf(dataSource));
    }

    [Fact]
    public void Real_data_source_reads_the_host_from_configuration_without_connecting()
    {
        // GIVEN the connection string the ECS task definition sets
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Chinook"] =
                "Server=sqlserver01.directory.example.com;Database=Chinook;Integrated Security=true;TrustServerCertificate=true",
        }).Build();

        // WHEN the data source is created
        var dataSource = new SqlChinookDataSource(configuration, NullLogger<SqlChinookDataSource>.Instance);

        // THEN its host is the AD name
        Assert.Equal("sqlserver01.directory.example.com", dataSource.ServerHost);
    }

    [Fact]
    public async Task Fails_with_a_configuration_error_when_the_connection_string_is_invalid()
    {
        // GIVEN a connection string with an unknown keyword
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Chinook"] = "Server=x;Bogus Keyword=1",
        }).Build();
        var dataSource = new SqlChinookDataSource(configuration, NullLogger<SqlChinookDataSource>.Instance);

        // WHEN it is read
        var failure = await Assert.ThrowsAsync<ChinookDataException>(() => dataSource.ReadSnapshotAsync(5, CancellationToken.None));

        // THEN the failure is a configuration problem naming the setting, and there is no host
        Assert.Equal(DataFailureStage.Configuration, failure.Stage);
        Assert.Contains("ConnectionStrings__Chinook is not valid", failure.Message);
        Assert.Null(dataSource.ServerHost);
    }

    [Theory]
    [InlineData("KERBEROS", AuthVerdict.Success)]
    [InlineData("kerberos", AuthVerdict.Success)]
    [InlineData("NTLM", AuthVerdict.Problem)]
    [InlineData("SQL", AuthVerdict.Problem)]
    [InlineData("NEGOTIATE", AuthVerdict.Problem)]
    [InlineData(null, AuthVerdict.Problem)]
    public void Only_KERBEROS_counts_as_success(string? scheme, AuthVerdict expected)
    {
        Assert.Equal(expected, AuthSchemeAssessment.For(scheme).Verdict);
    }

    [Fact]
    public void Ticket_cache_in_a_DIR_collection_is_checked_as_a_directory()
    {
        var directory = Directory.CreateTempSubdirectory("krbdir-").FullName;
        try
        {
            var status = TicketCache.Inspect($"DIR:{directory}");
            Assert.Equal(TicketCacheState.Empty, status.State);
            Assert.Equal(directory, status.Path);
        }
        finally
        {
            Directory.Delete(directory);
        }
    }

    [Fact]
    public void Ticket_cache_of_a_non_file_type_is_not_checked()
    {
        Assert.Equal(TicketCacheState.NotChecked, TicketCache.Inspect("KEYRING:persistent:0").State);
    }

    [Fact]
    public void Name_resolution_failure_points_at_dns()
    {
        // GIVEN SqlClient's error for a host that does not resolve (socket error 11001)
        var failure = new ChinookDataException(DataFailureStage.Connection, "A network-related or instance-specific error occurred.",
            new System.Net.Sockets.SocketException(11001)) { SqlErrorNumber = 11001 };
        var ticket = new TicketCacheStatus("/var/credentials-fetcher/krbdir/krb5cc", "/var/credentials-fetcher/krbdir/krb5cc",
            TicketCacheState.Usable, DateTime.UtcNow);

        // WHEN the likely causes are worked out
        var likely = FailureCauses.Likely("sqlserver01.directory.example.com", failure, ticket);

        // THEN only DNS is pointed at
        Assert.Equal([FailureCause.Dns], likely);
    }

    [Theory]
    [InlineData(0, "Success")]
    [InlineData(-2, "Unknown error 258")]
    [InlineData(10061, "Connection refused")]
    public void Refused_or_timed_out_connection_points_at_the_network_path(int number, string inner)
    {
        var failure = new ChinookDataException(DataFailureStage.Connection, "A network-related or instance-specific error occurred.",
            new InvalidOperationException(inner)) { SqlErrorNumber = number };
        var ticket = new TicketCacheStatus("FILE:/k", "/k", TicketCacheState.Usable);

        Assert.Equal([FailureCause.Network], FailureCauses.Likely("sqlserver01.directory.example.com", failure, ticket));
    }

    [Fact]
    public void Inner_messages_drop_Success_and_translate_258()
    {
        var failure = new ChinookDataException(DataFailureStage.Connection, "Outer.",
            new InvalidOperationException("Unknown error 258", new InvalidOperationException("Success")));

        Assert.Equal(["timed out (Unknown error 258)"], StatusReader.InnerMessages(failure));
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(-2, "-2 (timed out)")]
    [InlineData(258, "258 (timed out)")]
    [InlineData(18456, "18456 (SQL Server: login failed)")]
    [InlineData(53, "53")]
    public void Error_number_0_is_hidden_and_timeouts_are_named(int number, string? expected)
    {
        var failure = new ChinookDataException(DataFailureStage.Connection, "x") { SqlErrorNumber = number };
        var report = new StatusReport("h", "Chinook", TicketCache.Inspect(null), null, null, failure, [], new HashSet<FailureCause>());

        Assert.Equal(expected, report.ErrorNumberText);
    }

    [Theory]
    [InlineData("Server=h;Integrated Security=true", 5)]
    [InlineData("Server=h;Integrated Security=true;Connect Timeout=30", 30)]
    [InlineData("Server=h;Integrated Security=true;Timeout=2", 2)]
    [InlineData("Server=h;Integrated Security=true;Connection Timeout=15", 15)]
    public void Connect_Timeout_defaults_to_5_s_only_when_the_connection_string_sets_none(string connectionString, int expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Chinook"] = connectionString,
        }).Build();

        var dataSource = new SqlChinookDataSource(configuration, NullLogger<SqlChinookDataSource>.Instance);

        Assert.Equal(expected, dataSource.ConnectTimeoutSeconds);
    }
}
