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
        Assert.Contains("<span class=\"badge bad\">NTLM</span>", body);
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
        Assert.Contains("<span class=\"badge bad\">SQL</span>", body);
        Assert.Contains("Integrated Security=true", body);
    }

    [Fact]
    public async Task Failing_login_renders_the_page_with_the_driver_message_and_the_four_causes_but_no_stack_trace()
    {
        // GIVEN a database whose login fails, with an exception that carries a real stack trace
        var failure = ThrownLoginFailure();
        Assert.NotNull(failure.StackTrace);
        using var app = new TestApp(FakeChinookDataSource.Failing(failure));

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
        // AND it lists the four usual causes
        Assert.Contains("id=\"causes\"", body);
        Assert.Contains("data-cause=\"server-name\"", body);
        Assert.Contains("The server name is not the directory name.", body);
        Assert.Contains("data-cause=\"dns\"", body);
        Assert.Contains("DNS does not point at the directory.", body);
        Assert.Contains("data-cause=\"network\"", body);
        Assert.Contains("Connection refused or timed out.", body);
        Assert.Contains("data-cause=\"ticket\"", body);
        Assert.Contains("credentials-fetcher could not get a ticket.", body);
        // AND no stack trace or exception type leaks into the page
        Assert.DoesNotContain(nameof(ThrowLoginFailure), body);
        Assert.DoesNotContain(" at SampleWebApp", body);
        Assert.DoesNotContain("Exception", body);
        Assert.DoesNotContain("--- End of", body);
    }

    [Fact]
    public async Task Failing_login_points_at_the_ticket_when_the_ticket_cache_is_missing()
    {
        // GIVEN a failing login and a KRB5CCNAME that names a file which is not there
        using var app = new TestApp(FakeChinookDataSource.Failing(ThrownLoginFailure()), ticketCache: "FILE:/nonexistent/krb5cc");

        // WHEN the home page is requested
        var (_, body) = await app.GetAsync("/");

        // THEN the ticket cause is highlighted as likely, and the others are not
        Assert.Contains("<li class=\"likely\" data-cause=\"ticket\">", body);
        Assert.Contains("<li class=\"\" data-cause=\"server-name\">", body);
        Assert.Contains("<li class=\"\" data-cause=\"dns\">", body);
    }

    [Fact]
    public async Task Failing_connection_to_the_rds_endpoint_points_at_the_server_name()
    {
        // GIVEN a connection string that names the RDS endpoint instead of the AD name
        var failure = new ChinookDataException(DataFailureStage.Connection, "Cannot generate SSPI context.");
        using var app = new TestApp(FakeChinookDataSource.Failing(failure, "mydb.abcdefghijkl.eu-west-1.rds.amazonaws.com"));

        // WHEN the home page is requested
        var (status, body) = await app.GetAsync("/");

        // THEN the server-name cause is highlighted, naming the host
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("<li class=\"likely\" data-cause=\"server-name\">", body);
        Assert.Contains("Likely here: the host is <code>mydb.abcdefghijkl.eu-west-1.rds.amazonaws.com</code>", body);
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
        using var app = new TestApp(dataSource: null, connectionString: connectionString);

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
