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
                "Server=sqlserver01.directory.example.com;Database=Chinook;Integrated Security=true;" +
                "Encrypt=Mandatory;TrustServerCertificate=false;HostNameInCertificate=sql.abcdefghijkl.us-east-1.rds.amazonaws.com",
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
            var status = TicketCache.Inspect(TestApp.Kerberos($"DIR:{directory}"));
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
        Assert.Equal(TicketCacheState.NotChecked, TicketCache.Inspect(TestApp.Kerberos("KEYRING:persistent:0")).State);
    }

    private static TicketCacheStatus Ticket(TicketCacheState state, string path = "/var/credentials-fetcher/krbdir/krb5cc",
        string? principal = "SampleWebApp$@DIRECTORY.EXAMPLE.COM") =>
        new(new CacheName(path, CacheNameSource.Variable), path, state, DateTime.UtcNow, Principal: principal);

    private static ChinookDataException ConnectionFailure(string message, int? number = 0, string? inner = null) =>
        new(DataFailureStage.Connection, message, inner is null ? null : new InvalidOperationException(inner)) { SqlErrorNumber = number };

    [Fact]
    public void Name_resolution_failure_points_at_dns_only()
    {
        // GIVEN SqlClient's error for a host that does not resolve (socket error 11001)
        var failure = new ChinookDataException(DataFailureStage.Connection, "A network-related or instance-specific error occurred.",
            new System.Net.Sockets.SocketException(11001)) { SqlErrorNumber = 11001 };

        // WHEN the causes are ranked
        var causes = FailureCauses.Rank("sqlserver01.directory.example.com", failure, Ticket(TicketCacheState.Usable));

        // THEN DNS is the one cause: nothing after name resolution was tried
        var cause = Assert.Single(causes);
        Assert.Equal(new RankedCause(FailureCause.Dns, Likelihood.Likely, "the name sqlserver01.directory.example.com did not resolve"), cause);
    }

    [Theory]
    [InlineData(0, "Success")]
    [InlineData(-2, "Unknown error 258")]
    [InlineData(10061, "Connection refused")]
    public void Refused_or_timed_out_connection_points_at_the_network_path_only(int number, string inner)
    {
        var failure = ConnectionFailure("A network-related or instance-specific error occurred.", number, inner);

        var cause = Assert.Single(FailureCauses.Rank("sqlserver01.directory.example.com", failure, Ticket(TicketCacheState.Usable)));

        Assert.Equal(FailureCause.Network, cause.Cause);
        Assert.Equal(Likelihood.Likely, cause.Likelihood);
    }

    [Fact]
    public void SPN_failure_with_a_usable_ticket_is_the_server_name_only()
    {
        // GIVEN what SqlClient 7 on Linux says when the KDC has no ticket for the server (measured with a real MIT KDC),
        // with error number 0, and a ticket cache that holds a ticket that has not ended
        var failure = ConnectionFailure("The target principal name is incorrect.  Cannot generate SSPI context.");

        // WHEN the causes are ranked
        var causes = FailureCauses.Rank("sqlserver01.directory.example.com", failure, Ticket(TicketCacheState.Usable));

        // THEN the server name is the one cause: pre-login worked (no network cause) and the ticket is there (no ticket cause)
        var cause = Assert.Single(causes);
        Assert.Equal(FailureCause.ServerName, cause.Cause);
        Assert.Equal(Likelihood.Likely, cause.Likelihood);
    }

    [Fact]
    public void SPN_failure_with_an_unchecked_cache_lists_the_ticket_and_the_name_as_possible()
    {
        var failure = ConnectionFailure("The target principal name is incorrect.  Cannot generate SSPI context.");
        var keyring = new TicketCacheStatus(new CacheName("KEYRING:persistent:0", CacheNameSource.Variable), null, TicketCacheState.NotChecked);

        var causes = FailureCauses.Rank("sqlserver01.directory.example.com", failure, keyring);

        Assert.Equal([FailureCause.Ticket, FailureCause.ServerName], causes.Select(c => c.Cause));
        Assert.All(causes, c => Assert.Equal(Likelihood.Possible, c.Likelihood));
    }

    [Fact]
    public void SPN_failure_against_the_RDS_endpoint_names_the_endpoint_first()
    {
        var failure = ConnectionFailure("The target principal name is incorrect.  Cannot generate SSPI context.");
        var keyring = new TicketCacheStatus(new CacheName("KCM:", CacheNameSource.Variable), null, TicketCacheState.NotChecked);

        var causes = FailureCauses.Rank("mydb.abcdefghijkl.eu-west-1.rds.amazonaws.com", failure, keyring);

        Assert.Equal(new RankedCause(FailureCause.ServerName, Likelihood.Likely, "the host is the RDS endpoint, which has no SPN"), causes[0]);
        Assert.Equal(FailureCause.Ticket, causes[1].Cause);
    }

    [Theory]
    [InlineData("mydb.abcdefghijkl.eu-west-1.rds.amazonaws.com", "DIRECTORY.EXAMPLE.COM", 1433, "MSSQLSvc/mydb.directory.example.com:1433")]
    [InlineData("mydb.directory.example.com", "DIRECTORY.EXAMPLE.COM", null, "MSSQLSvc/mydb.directory.example.com:1433")]
    [InlineData("10.0.1.5", "DIRECTORY.EXAMPLE.COM", 1433, "MSSQLSvc/<db-instance-id>.directory.example.com:1433")]
    [InlineData("mydb.abcdefghijkl.eu-west-1.rds.amazonaws.com", null, null, "MSSQLSvc/mydb.<directory DNS name>:1433")]
    public void The_SPN_RDS_registers_is_filled_in_from_the_endpoint_and_the_ticket_realm(string host, string? realm, int? port, string expected)
    {
        Assert.Equal(expected, FailureCauses.SpnOf(FailureCauses.RdsKerberosName(host, realm), port));
    }

    [Fact]
    public void Login_refused_for_a_named_Windows_login_is_the_login_only()
    {
        var failure = ConnectionFailure(@"Login failed for user 'DIRECTORY\SampleWebApp$'.", 18456);

        var cause = Assert.Single(FailureCauses.Rank("sqlserver01.directory.example.com", failure, Ticket(TicketCacheState.Usable)));

        Assert.Equal(FailureCause.Login, cause.Cause);
        Assert.Contains(@"DIRECTORY\SampleWebApp$", cause.Evidence);
    }

    [Fact]
    public void Failing_query_after_a_login_is_the_login_only()
    {
        var failure = new ChinookDataException(DataFailureStage.Query, "Invalid object name 'dbo.Album'.") { SqlErrorNumber = 208 };

        Assert.Equal([FailureCause.Login], FailureCauses.Rank("h.example.com", failure, Ticket(TicketCacheState.Usable)).Select(c => c.Cause));
    }

    [Fact]
    public void Failure_without_evidence_lists_what_can_apply_in_the_order_it_would_happen_none_likely()
    {
        var failure = ConnectionFailure("Something nobody has seen before.", null);

        var causes = FailureCauses.Rank("sqlserver01.directory.example.com", failure, Ticket(TicketCacheState.Usable));

        Assert.Equal([FailureCause.Dns, FailureCause.Network, FailureCause.ServerName, FailureCause.Login], causes.Select(c => c.Cause));
        Assert.All(causes, c => Assert.Equal(Likelihood.Possible, c.Likelihood));
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
        var report = new StatusReport("h", "Chinook", TicketCache.Inspect(TestApp.Kerberos(null)), null, null, failure, [], []);

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
