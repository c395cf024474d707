using System.Net;
using SampleWebApp.Data;

namespace SampleWebApp.Tests;

/// <summary>/healthz (liveness, used by the ALB and the container health check) and /ready (database).</summary>
public sealed class HealthEndpointTests
{
    [Fact]
    public async Task Healthz_is_200_without_touching_a_failing_database()
    {
        // GIVEN a database that cannot be reached
        var database = FakeChinookDataSource.Failing(new ChinookDataException(DataFailureStage.Connection, "A network-related error occurred."));
        using var app = new TestApp(database);

        // WHEN /healthz is requested
        var (status, body) = await app.GetAsync("/healthz");

        // THEN it is healthy and the database was never asked
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", body);
        Assert.Equal(0, database.Calls);
    }

    [Fact]
    public async Task Healthz_is_200_without_any_connection_string()
    {
        // GIVEN the real data source and no connection string at all
        using var app = new TestApp(dataSource: null, connectionString: null);

        // WHEN /healthz is requested
        var (status, _) = await app.GetAsync("/healthz");

        // THEN it is healthy
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Ready_is_503_when_the_database_fails()
    {
        // GIVEN a database whose login fails
        var database = FakeChinookDataSource.Failing(new ChinookDataException(DataFailureStage.Connection, "Login failed for user ''."));
        using var app = new TestApp(database);

        // WHEN /ready is requested
        var (status, body) = await app.GetAsync("/ready");

        // THEN it is unavailable, without details in the response
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", body);
        Assert.Equal(1, database.Calls);
    }

    [Fact]
    public async Task Responses_carry_a_strict_content_security_policy()
    {
        // GIVEN the app
        using var app = new TestApp(FakeChinookDataSource.Connected("KERBEROS"));
        using var client = app.CreateClient();

        // WHEN the home page is requested
        using var response = await client.GetAsync("/");

        // THEN only the app's own resources may load, and the page cannot be framed
        var policy = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.StartsWith("default-src 'self';", policy);
        Assert.Contains("frame-ancestors 'none'", policy);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task Ready_is_200_when_the_database_answers()
    {
        // GIVEN a working database
        using var app = new TestApp(FakeChinookDataSource.Connected("KERBEROS"));

        // WHEN /ready is requested
        var (status, _) = await app.GetAsync("/ready");

        // THEN it is ready
        Assert.Equal(HttpStatusCode.OK, status);
    }
}
