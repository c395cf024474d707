using System.Net;
using System.Runtime.CompilerServices;
using SampleWebApp.Data;

namespace SampleWebApp.Tests;

/// <summary>The home page, with a fake database standing in for SQL Server.</summary>
public sealed class HomePageTests
{
    [Fact]
    public async Task Kerberos_session_is_marked_as_success_with_login_host_and_albums()
    {
        // GIVEN a database session authenticated with Kerberos
        var database = FakeChinookDataSource.Connected("KERBEROS");
        using var app = new TestApp(database);

        // WHEN the home page is requested
        var (status, body) = await app.GetAsync("/");

        // THEN it shows success, who logged in, to which host, and the five albums
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("data-verdict=\"success\"", body);
        Assert.Contains("Kerberos works", body);
        Assert.Contains("<span class=\"badge ok\">KERBEROS</span>", body);
        Assert.Contains(@"DIRECTORY\SampleWebApp$", body);
        Assert.Contains("<code>sqlserver01.directory.example.com</code>", body);
        foreach (var album in FakeChinookDataSource.SampleAlbums)
        {
            Assert.Contains(WebUtility.HtmlEncode(album.Title), body);
            Assert.Contains(WebUtility.HtmlEncode(album.Artist), body);
        }

        Assert.DoesNotContain("id=\"causes\"", body);
        Assert.Equal(1, database.Calls);
    }

    [Fact]
    public async Task Ntlm_session_is_flagged_as_a_problem()
    {
        // GIVEN a session that fell back to NTLM
        using var app = new TestApp(FakeChinookDataSource.Connected("NTLM"));

        // WHEN the home page is requested
        var (status, body) = await app.GetAsync("/");

        // THEN it is marked as a problem that points at the server name, never as success
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("data-verdict=\"problem\"", body);
        Assert.Contains("Connected, but with NTLM instead of Kerberos", body);
        // AND its badge is amber like the banner, not the red of a failure
        Assert.Contains("<span class=\"badge warn\">NTLM</span>", body);
        Assert.Contains("banner problem", body);
        Assert.Contains("not the RDS endpoint", body);
        Assert.DoesNotContain("Kerberos works", body);
        Assert.DoesNotContain("badge ok\">NTLM", body);
    }

    [Fact]
    public async Task Sql_authentication_session_is_flagged_as_a_problem()
    {
        // GIVEN a session that logged in with a SQL Server user name and password
        using var app = new TestApp(FakeChinookDataSource.Connected("SQL"));

        // WHEN the home page is requested
        var (_, body) = await app.GetAsync("/");

        // THEN it is flagged, and says why
        Assert.Contains("data-verdict=\"problem\"", body);
        Assert.Contains("<span class=\"badge warn\">SQL</span>", body);
        Assert.Contains("Integrated Security=true", body);
    }

    [Fact]
    public async Task Failing_login_renders_the_page_with_the_driver_message_and_the_causes_that_can_apply_but_no_stack_trace()
    {
        // GIVEN a database whose login fails at the Kerberos step, with an exception that carries a real stack trace,
        // and a ticket cache the app cannot look into (KEYRING:)
        var failure = ThrownLoginFailure();
        Assert.NotNull(failure.StackTrace);
        using var app = new TestApp(FakeChinookDataSource.Failing(failure), ticketCache: "KEYRING:persistent:0");

        // WHEN the home page is requested
        var (status, body) = await app.GetAsync("/");

        // THEN the page still renders (200) and says what failed, with the driver's message and its cause
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("data-verdict=\"failure\"", body);
        Assert.Contains("Connecting or logging in to SQL Server failed", body);
        Assert.Contains("The driver said:", body);
        Assert.Contains("Login failed for user &#x27;&#x27;. The login is from an untrusted domain.", body);
        Assert.Contains("Caused by: GSSAPI operation failed: No Kerberos credentials available", body);
        Assert.Contains("Error number 18456 (SQL Server: login failed).", body);
        // AND it lists only the causes that can apply to a failure at the Kerberos step (not DNS, not the network),
        // none of them likely since the cache could not be looked into: the ticket, then the server name
        Assert.Contains("<h2>Possible causes</h2>", body);
        Assert.Equal(["ticket", "server-name"], CauseIds(body));
        Assert.DoesNotContain("class=\"likely\"", body);
        Assert.Contains("No usable Kerberos ticket.", body);
        Assert.Contains("The KDC has no SPN for this server name.", body);
        // AND the causes come before the connection facts, right under the verdict (a phone shows them first)
        Assert.True(body.IndexOf("id=\"causes\"", StringComparison.Ordinal) < body.IndexOf("<h2>Connection</h2>", StringComparison.Ordinal));
        // AND no stack trace or exception type leaks into the page
        Assert.DoesNotContain(nameof(ThrowLoginFailure), body);
        Assert.DoesNotContain(" at SampleWebApp", body);
        Assert.DoesNotContain("Exception", body);
        Assert.DoesNotContain("--- End of", body);
    }

    [Fact]
    public async Task SPN_failure_with_a_usable_ticket_shows_one_cause_naming_the_server_and_the_SPN_RDS_registers()
    {
        // GIVEN the words SqlClient 7 says when the KDC has no SPN for the server (seen with a real MIT KDC), and a usable
        // ticket for the directory's realm
        var path = Path.Combine(Path.GetTempPath(), $"krb5cc-spn-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(path, Ccache.Version4(DateTime.UtcNow.AddHours(8)));
        try
        {
            var failure = new ChinookDataException(DataFailureStage.Connection, "The target principal name is incorrect.  Cannot generate SSPI context.")
            {
                SqlErrorNumber = 0,
            };
            using var app = new TestApp(FakeChinookDataSource.Failing(failure, "mydb.abcdefghijkl.eu-west-1.rds.amazonaws.com"), ticketCache: $"FILE:{path}");

            // WHEN the home page is requested
            var (_, body) = await app.GetAsync("/");

            // THEN one cause, likely: the server name, naming the SPN asked for and the one RDS registers
            Assert.Equal(["server-name"], CauseIds(body));
            Assert.Contains("<h2>Likely cause</h2>", body);
            Assert.Contains("<li class=\"likely\" data-cause=\"server-name\">", body);
            Assert.Contains("<code>MSSQLSvc/mydb.abcdefghijkl.eu-west-1.rds.amazonaws.com:1433</code>", body);
            Assert.Contains("RDS registers <code>MSSQLSvc/mydb.example.test:1433</code>", body);
            Assert.Contains("Connect to <code>mydb.example.test</code>", body);
            Assert.Contains("Likely here: the host is the RDS endpoint, which has no SPN.", body);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Failing_login_with_a_missing_ticket_cache_names_the_ticket_only()
    {
        // GIVEN the real data source and a KRB5CCNAME that names a file which is not there
        using var app = new TestApp(dataSource: null, ticketCache: "FILE:/nonexistent/krb5cc",
            connectionString: "Server=sqlserver01.directory.example.com;Database=Chinook;Integrated Security=true");

        // WHEN the home page is requested
        var (_, body) = await app.GetAsync("/");

        // THEN the ticket is the one, likely, cause, and the message reads as one sentence
        Assert.Equal(["ticket"], CauseIds(body));
        Assert.Contains("<li class=\"likely\" data-cause=\"ticket\">", body);
        Assert.Contains("The Kerberos ticket cache is not usable, so the app did not try to log in", body);
        Assert.Contains("/nonexistent/krb5cc: There is no file there. Get a ticket with kinit -c FILE:/nonexistent/krb5cc", body);
        Assert.DoesNotContain("Did not try to log in:", body);
    }

    [Fact]
    public async Task Failing_connection_to_the_rds_endpoint_points_at_the_server_name()
    {
        // GIVEN a connection string that names the RDS endpoint instead of the AD name
        var failure = new ChinookDataException(DataFailureStage.Connection, "Cannot generate SSPI context.");
        using var app = new TestApp(FakeChinookDataSource.Failing(failure, "mydb.abcdefghijkl.eu-west-1.rds.amazonaws.com"));

        // WHEN the home page is requested
        var (status, body) = await app.GetAsync("/");

        // THEN the server-name cause comes first, highlighted, naming the host and the name to use instead
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("server-name", CauseIds(body)[0]);
        Assert.Contains("<li class=\"likely\" data-cause=\"server-name\">", body);
        Assert.Contains("Likely here: the host is the RDS endpoint, which has no SPN.", body);
        Assert.Contains("<code>MSSQLSvc/mydb.abcdefghijkl.eu-west-1.rds.amazonaws.com:1433</code>", body);
        Assert.Contains("Connect to <code>mydb.&lt;directory DNS name&gt;</code>", body);
    }

    [Fact]
    public async Task Unexpected_data_source_error_still_renders_the_page_with_200()
    {
        // GIVEN a data source that fails in a way it did not classify
        using var app = new TestApp(FakeChinookDataSource.Failing(new InvalidOperationException("Invalid attempt to read when no data is present.")));

        // WHEN the home page is requested
        var (status, body) = await app.GetAsync("/");

        // THEN the page renders with the message, not an error page
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("data-verdict=\"failure\"", body);
        Assert.Contains("Invalid attempt to read when no data is present.", body);
        Assert.DoesNotContain("InvalidOperationException", body);
    }

    [Fact]
    public async Task Missing_connection_string_is_explained_on_the_page_with_200()
    {
        // GIVEN the real SQL Server data source and no connection string
        using var app = new TestApp(dataSource: null, connectionString: null);

        // WHEN the home page is requested
        var (status, body) = await app.GetAsync("/");

        // THEN it says which setting is missing, shows no host, and does not list network causes
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("The app has no usable connection string", body);
        Assert.Contains("What is missing:", body);
        Assert.Contains("No connection string: set the environment variable ConnectionStrings__Chinook", body);
        Assert.Contains("none: no usable connection string", body);
        Assert.DoesNotContain("id=\"causes\"", body);
    }

    [Fact]
    public async Task Host_comes_from_the_connection_string_of_the_real_data_source()
    {
        // GIVEN the real data source with the connection string the ECS task gets, pointing at a host that cannot resolve
        const string connectionString =
            "Server=sqlserver01.directory.invalid;Database=Chinook;Integrated Security=true;TrustServerCertificate=true;Connect Timeout=1";
        // (a MEMORY: cache is not checked, so the app tries to connect)
        using var app = new TestApp(dataSource: null, ticketCache: "MEMORY:test", connectionString: connectionString);

        // WHEN the home page is requested
        var (status, body) = await app.GetAsync("/");

        // THEN it names that host and reports the connection failure on a 200 page
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("<code>sqlserver01.directory.invalid</code>", body);
        Assert.Contains("Connecting or logging in to SQL Server failed", body);
        Assert.Contains("<li class=\"likely\" data-cause=\"dns\">", body);
    }

    [Fact]
    public async Task Album_titles_are_html_encoded()
    {
        // GIVEN an album whose title contains markup
        var albums = new List<Album> { new(1, "<script>alert(1)</script>", "A & B") };
        using var app = new TestApp(FakeChinookDataSource.Connected("KERBEROS", albums));

        // WHEN the home page is requested
        var (_, body) = await app.GetAsync("/");

        // THEN the markup is shown as text, not executed
        Assert.DoesNotContain("<script>alert(1)</script>", body);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", body);
        Assert.Contains("A &amp; B", body);
    }

    /// <summary>The data-cause attributes of the listed causes, in order.</summary>
    internal static List<string> CauseIds(string body) =>
        System.Text.RegularExpressions.Regex.Matches(body, "data-cause=\"([a-z-]+)\"").Select(m => m.Groups[1].Value).ToList();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ChinookDataException ThrownLoginFailure()
    {
        try
        {
            ThrowLoginFailure();
            throw new InvalidOperationException("unreachable");
        }
        catch (ChinookDataException ex)
        {
            return ex;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowLoginFailure()
    {
        var gssapi = new InvalidOperationException("GSSAPI operation failed: No Kerberos credentials available");
        throw new ChinookDataException(
            DataFailureStage.Connection, "Login failed for user ''. The login is from an untrusted domain.", gssapi)
        {
            SqlErrorNumber = 18456,
        };
    }
}
