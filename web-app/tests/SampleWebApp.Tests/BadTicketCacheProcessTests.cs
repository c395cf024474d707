using System.Net;
using System.Text.Json;

namespace SampleWebApp.Tests;

/// <summary>
/// The real app, as a process in Production, in front of a fake SQL Server that lets the driver reach the Kerberos
/// step. Before the ticket-cache check, a zero-byte, truncated or garbage cache, or a directory named without DIR:,
/// crashed the process (SIGSEGV in NegotiateAuthentication) at the first login.
/// </summary>
[Collection(AppProcessCollection.Name)]
public sealed class BadTicketCacheProcessTests : IDisposable
{
    // Encrypt=Optional: the fake server does not do TLS. No Connect Timeout: the app's default (5 s) applies.
    private static string ConnectionString(string server) =>
        $"Server={server};Database=Chinook;Integrated Security=true;TrustServerCertificate=true;Encrypt=Optional";

    private readonly string _directory = Directory.CreateTempSubdirectory("krbproc-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Every_bad_FILE_cache_is_named_on_a_fast_200_page_and_the_process_survives()
    {
        // GIVEN the app with KRB5CCNAME=FILE:<path>, and a fake SQL Server on 127.0.0.1
        using var sql = new FakeTdsServer();
        var path = Path.Combine(_directory, "krb5cc");
        using var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings__Chinook"] = ConnectionString($"127.0.0.1,{sql.Port}"),
            ["KRB5CCNAME"] = $"FILE:{path}",
        });

        var whole = Ccache.Version4(DateTime.UtcNow.AddHours(8));
        (string Name, Action Write, string State)[] cases =
        [
            ("zero-byte", () => File.WriteAllBytes(path, []), "empty"),
            ("truncated", () => File.WriteAllBytes(path, whole[..(whole.Length / 2)]), "not-a-ticket-cache"),
            ("garbage", () => File.WriteAllText(path, "this is not a ticket cache, just some text\n"), "not-a-ticket-cache"),
            ("header only (05 04 and its tags)", () => File.WriteAllBytes(path, Ccache.HeaderOnly(4)), "not-a-ticket-cache"),
            ("header only (05 02, once shown as usable)", () => File.WriteAllBytes(path, [0x05, 0x02]), "not-a-ticket-cache"),
            ("header and garbage", () => File.WriteAllBytes(path, [.. Ccache.HeaderOnly(4), .. "garbage"u8.ToArray()]), "not-a-ticket-cache"),
            ("directory without DIR:", () => { File.Delete(path); Directory.CreateDirectory(path); }, "directory"),
            ("missing", () => Directory.Delete(path), "missing"),
        ];

        foreach (var (name, write, state) in cases)
        {
            // WHEN the cache changes under the running app and the page is loaded
            write();
            var (status, body, elapsed) = await app.GetAsync("/");

            // THEN the process is alive, the page answered quickly and names the state
            Assert.True(app.IsAlive, $"{name}: the app died\n{app.Output}");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.True(elapsed < TimeSpan.FromSeconds(6), $"{name}: / took {elapsed.TotalSeconds:F1} s");
            Assert.Contains($"data-state=\"{state}\"", body);
            Assert.Contains("The Kerberos ticket cache is not usable, so the app did not try to log in", body);
            Assert.Contains("<li class=\"likely\" data-cause=\"ticket\">", body);
        }

        // AND the app never connected: it stopped before the network
        Assert.Equal(0, sql.Connections);
        Assert.True(app.IsAlive, app.Output);
    }

    [Fact]
    public async Task FIFO_cache_answers_within_6_s_and_many_waiting_requests_leave_healthz_fast()
    {
        // GIVEN KRB5CCNAME naming a named pipe nothing writes to. Before, opening it blocked /, /api/status and /ready
        // for more than 30 s, and enough such requests slowed even /healthz past the container health check's 5 s.
        using var sql = new FakeTdsServer();
        var fifo = Path.Combine(_directory, "krb5cc");
        Assert.Equal(0, mkfifo(fifo, Convert.ToUInt32("600", 8)));
        using var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings__Chinook"] = ConnectionString($"127.0.0.1,{sql.Port}"),
            ["KRB5CCNAME"] = $"FILE:{fifo}",
        });

        // WHEN the page is loaded
        var (status, body, elapsed) = await app.GetAsync("/");

        // THEN it answers at once, naming the FIFO, and the app never connected
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(elapsed < TimeSpan.FromSeconds(6), $"/ took {elapsed.TotalSeconds:F1} s");
        Assert.Contains("data-state=\"not-a-file\"", body);
        Assert.Contains("named pipe (FIFO)", body);

        // AND WHEN 40 requests for /, /api/status and /ready arrive together, with /healthz among them
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var paths = Enumerable.Range(0, 40).Select(i => (i % 3) switch { 0 => "/", 1 => "/api/status", _ => "/ready" });
        var burst = paths.Select(app.GetAsync).ToList();
        var (healthStatus, _, healthElapsed) = await app.GetAsync("/healthz");
        var answers = await Task.WhenAll(burst);

        // THEN /healthz stays well inside the health check's 5 s, and every request is answered within 6 s
        Assert.Equal(HttpStatusCode.OK, healthStatus);
        Assert.True(healthElapsed < TimeSpan.FromSeconds(2), $"/healthz took {healthElapsed.TotalSeconds:F1} s");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"40 requests took {clock.Elapsed.TotalSeconds:F1} s");
        Assert.All(answers, answer => Assert.Contains(answer.Status, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable }));
        Assert.Equal(0, sql.Connections);
        Assert.True(app.IsAlive, app.Output);
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string path, uint mode);

    [Fact]
    public async Task Empty_DIR_collection_is_named_and_api_status_reports_it()
    {
        // GIVEN KRB5CCNAME=DIR:<empty directory>
        using var sql = new FakeTdsServer();
        var collection = Directory.CreateDirectory(Path.Combine(_directory, "collection")).FullName;
        using var app = await AppProcess.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings__Chinook"] = ConnectionString($"127.0.0.1,{sql.Port}"),
            ["KRB5CCNAME"] = $"DIR:{collection}",
        });

        // WHEN the page and the status API are requested
        var (status, body, elapsed) = await app.GetAsync("/");
        var (apiStatus, json, _) = await app.GetAsync("/api/status");

        // THEN both name the empty collection, quickly, and the process lives
        Assert.True(app.IsAlive, app.Output);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(elapsed < TimeSpan.FromSeconds(6), $"/ took {elapsed.TotalSeconds:F1} s");
        Assert.Contains("data-state=\"empty\"", body);
        Assert.Equal(HttpStatusCode.OK, apiStatus);
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.False(root.GetProperty("ok").GetBoolean());
        Assert.Equal("empty", root.GetProperty("ticketCache").GetProperty("state").GetString());
        Assert.Equal(collection, root.GetProperty("ticketCache").GetProperty("location").GetString());
        Assert.Equal("127.0.0.1", root.GetProperty("server").GetString());
        Assert.Equal("Chinook", root.GetProperty("database").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("authScheme").ValueKind);
        Assert.Contains("ticket cache", root.GetProperty("cause").GetString());
        Assert.Equal(0, sql.Connections);
    }
}
