using System.Net;
using SampleWebApp.Data;

namespace SampleWebApp.Tests;

/// <summary>The error page: a real 404 for an unknown path, a 500 with a request id for an exception, never a 200.</summary>
public sealed class ErrorPageTests
{
    [Theory]
    [InlineData("/no-such-page")]
    [InlineData("/Error")]
    [InlineData("/css/no-such-file.css")]
    public async Task Unknown_path_is_a_404_page_that_names_the_path(string path)
    {
        // GIVEN the app
        using var app = new TestApp(FakeChinookDataSource.Connected("KERBEROS"));

        // WHEN a path that does not exist is requested (the error page itself included)
        var (status, body) = await app.GetAsync(path);

        // THEN the answer is 404 with a page that says so (before: an empty body, and /Error answered 200)
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("<h2>Page not found</h2>", body);
        Assert.Contains($"There is no page at <code>{path}</code>", body);
        Assert.Contains("<title>Page not found", body);
    }

    [Fact]
    public async Task Unhandled_exception_is_a_500_page_with_a_request_id_and_no_details()
    {
        // GIVEN a data source whose host name throws (the page reads it outside the data source's own error handling)
        using var app = new TestApp(new ThrowingDataSource());

        // WHEN the home page is requested
        var (status, body) = await app.GetAsync("/");

        // THEN the answer is a 500 page, without the exception
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Contains("Something went wrong (HTTP 500)", body);
        Assert.Contains("request <code>", body);
        Assert.DoesNotContain("deliberately broken", body);
        Assert.DoesNotContain("InvalidOperationException", body);
    }

    [Fact]
    public async Task Status_endpoints_keep_their_own_bodies()
    {
        using var app = new TestApp(FakeChinookDataSource.Failing(new ChinookDataException(DataFailureStage.Connection, "refused")));

        var (status, body) = await app.GetAsync("/ready");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", body);
    }

    private sealed class ThrowingDataSource : IChinookDataSource
    {
        public string? ServerHost => throw new InvalidOperationException("deliberately broken");

        public Task<ChinookSnapshot> ReadSnapshotAsync(int albumCount, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("deliberately broken");

        public Task CheckAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
