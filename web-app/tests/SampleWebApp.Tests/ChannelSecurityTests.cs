using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using SampleWebApp.Data;

namespace SampleWebApp.Tests;

/// <summary>What the app says about the TLS channel to SQL Server: the client's settings and SQL Server's encrypt_option.</summary>
public sealed class ChannelSecurityTests
{
    private const string Endpoint = "sql.abcdefghijkl.us-east-1.rds.amazonaws.com";

    private static SqlChinookDataSource DataSource(string connectionString) => new(
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Chinook"] = connectionString }).Build(),
        NullLogger<SqlChinookDataSource>.Instance);

    [Theory]
    // The task definition's connection string: verified against the RDS endpoint's name.
    [InlineData("Encrypt=Mandatory;TrustServerCertificate=false;HostNameInCertificate=" + Endpoint, "Mandatory", true, Endpoint)]
    [InlineData("Encrypt=true;HostNameInCertificate=" + Endpoint, "Mandatory", true, Endpoint)]
    [InlineData("Encrypt=Strict", "Strict", true, "sqlserver01.directory.example.com")]
    // What the app had before: encrypted, but the certificate was never checked.
    [InlineData("TrustServerCertificate=true", "Mandatory", false, "sqlserver01.directory.example.com")]
    [InlineData("Encrypt=Optional;HostNameInCertificate=" + Endpoint, "Optional", false, Endpoint)]
    public void Channel_is_verified_only_with_encryption_required_and_the_certificate_not_trusted_blindly(
        string settings, string mode, bool verified, string hostName)
    {
        // GIVEN a connection string with these TLS settings
        var dataSource = DataSource($"Server=sqlserver01.directory.example.com;Database=Chinook;Integrated Security=true;{settings}");

        // WHEN SQL Server reports the session encrypted
        var channel = dataSource.Channel(serverReportsEncrypted: true);

        // THEN the client side says whether it verified the certificate, and against which name
        Assert.Equal(mode, channel.EncryptMode);
        Assert.Equal(verified, channel.CertificateVerified);
        Assert.Equal(verified, channel.Verified);
        Assert.Equal(hostName, channel.CertificateHostName);
    }

    [Fact]
    public void A_channel_SQL_Server_reports_unencrypted_is_never_verified()
    {
        var channel = DataSource($"Server=s;Integrated Security=true;Encrypt=Mandatory;HostNameInCertificate={Endpoint}").Channel(false);
        Assert.True(channel.CertificateVerified);
        Assert.False(channel.Verified);
    }

    [Fact]
    public async Task Page_and_status_show_an_encrypted_channel_verified_against_the_endpoint()
    {
        // GIVEN a Kerberos session over a channel SQL Server reports encrypted, verified by the client
        var database = new FakeChinookDataSource
        {
            Snapshot = new ChinookSnapshot(@"DIRECTORY\SampleWebApp$", "KERBEROS", FakeChinookDataSource.SampleAlbums,
                new ChannelSecurity(true, "Mandatory", true, Endpoint)),
        };
        using var app = new TestApp(database);

        // WHEN the page and /api/status are requested
        var (status, body) = await app.GetAsync("/");
        var (_, json) = await app.GetAsync("/api/status");

        // THEN both say encrypted and verified, naming the host the certificate was checked against
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("data-verified=\"true\"", body);
        Assert.Contains("<span class=\"badge ok\">encrypted, certificate verified</span>", body);
        Assert.Contains("encrypt_option TRUE", body);
        Assert.Contains($"<code>{Endpoint}</code>", body);
        using var document = JsonDocument.Parse(json);
        var channel = document.RootElement.GetProperty("channel");
        Assert.True(channel.GetProperty("encrypted").GetBoolean());
        Assert.True(channel.GetProperty("certificateVerified").GetBoolean());
        Assert.Equal("Mandatory", channel.GetProperty("encryptMode").GetString());
        Assert.Equal(Endpoint, channel.GetProperty("certificateHostName").GetString());
    }

    [Theory]
    [InlineData(true, false, "badge warn\">certificate not verified", "anyone on the path could pose as SQL Server")]
    [InlineData(false, true, "badge bad\">not encrypted", "encrypt_option FALSE")]
    [InlineData(null, true, "badge ok\">encrypted, certificate verified", "encrypt_option not readable (needs VIEW SERVER STATE)")]
    public async Task Page_flags_a_channel_that_is_not_verified_or_not_encrypted(bool? encrypted, bool verified, string badge, string text)
    {
        // GIVEN a Kerberos session whose channel is short of verified TLS in one way
        var database = new FakeChinookDataSource
        {
            Snapshot = new ChinookSnapshot(@"DIRECTORY\SampleWebApp$", "KERBEROS", FakeChinookDataSource.SampleAlbums,
                new ChannelSecurity(encrypted, verified ? "Mandatory" : "Optional", verified, Endpoint)),
        };
        using var app = new TestApp(database);

        // WHEN the page is requested
        var (_, body) = await app.GetAsync("/");

        // THEN it says which
        Assert.Contains(badge, body);
        Assert.Contains(WebUtility.HtmlEncode(text), body);
        Assert.Contains($"data-verified=\"{(encrypted != false && verified ? "true" : "false")}\"", body);
    }
}
