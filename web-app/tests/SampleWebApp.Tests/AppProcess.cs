using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SampleWebApp.Tests;

/// <summary>
/// The built app run as its own process (<c>dotnet SampleWebApp.dll</c>), in Production like the ECS task definition.
/// A separate process is the point: a crash in native Kerberos code must show as a dead process, not a failed test host.
/// The tests that start one share a collection, so they run one at a time: timings mean something on a busy machine.
/// </summary>
internal sealed class AppProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private AppProcess(Process process, int port)
    {
        _process = process;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Client { get; }

    /// <summary>True while the process runs.</summary>
    public bool IsAlive => !_process.HasExited;

    /// <summary>What the app wrote to stdout and stderr so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the app with these environment variables (null removes one) and waits for <c>/healthz</c>.</summary>
    /// <param name="environment">Variables to set (a null value removes one).</param>
    /// <param name="wrapper">A command that runs <c>dotnet SampleWebApp.dll</c> (appended as its last arguments), e.g. <c>unshare</c>.</param>
    public static async Task<AppProcess> StartAsync(IReadOnlyDictionary<string, string?> environment, IReadOnlyList<string>? wrapper = null)
    {
        var port = FreePort();
        var start = new ProcessStartInfo(wrapper is { Count: > 0 } ? wrapper[0] : "dotnet")
        {
            // The content root (appsettings.json, wwwroot) is the working directory, as /app is in the image.
            WorkingDirectory = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(AppDll)!, "..", "..", "..")),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in wrapper?.Skip(1) ?? [])
        {
            start.ArgumentList.Add(argument);
        }

        if (wrapper is { Count: > 0 })
        {
            start.ArgumentList.Add("dotnet");
        }

        start.ArgumentList.Add(AppDll);

        // Nothing from the machine running the tests: KRB5CCNAME, ConnectionStrings__* or ASPNETCORE_* would change the run.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("KRB5", StringComparison.Ordinal)
                     || k.StartsWith("ConnectionStrings", StringComparison.OrdinalIgnoreCase)
                     || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_HTTP_PORTS"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var app = new AppProcess(process, port);
        process.OutputDataReceived += (_, e) => app.Append(e.Data);
        process.ErrorDataReceived += (_, e) => app.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The app exited with {process.ExitCode}:\n{app.Output}");
            }

            try
            {
                using var response = await app.Client.GetAsync("/healthz");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return app;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        app.Dispose();
        throw new TimeoutException($"The app did not answer /healthz within 30 s:\n{app.Output}");
    }

    /// <summary>GETs a path; returns status, body and how long it took.</summary>
    public async Task<(HttpStatusCode Status, string Body, TimeSpan Elapsed)> GetAsync(string path)
    {
        var clock = Stopwatch.StartNew();
        HttpResponseMessage response;
        try
        {
            response = await Client.GetAsync(path);
        }
        catch (HttpRequestException ex)
        {
            var exit = _process.WaitForExit(2000) ? $"exited with {_process.ExitCode}" : "still running";
            throw new Xunit.Sdk.XunitException($"GET {path} failed ({ex.Message}); the app {exit}:\n{Output}");
        }

        using var _ = response;
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, body, clock.Elapsed);
    }

    public void Dispose()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>The app's dll, built next to the tests by the project reference (same configuration).</summary>
    private static string AppDll { get; } = FindAppDll();

    private static string FindAppDll()
    {
        var here = AppContext.BaseDirectory; // .../tests/SampleWebApp.Tests/bin/<Configuration>/net10.0/
        var framework = new DirectoryInfo(here).Name;
        var configuration = new DirectoryInfo(here).Parent!.Name;
        var webApp = Path.GetFullPath(Path.Combine(here, "..", "..", "..", "..", ".."));
        var dll = Path.Combine(webApp, "src", "SampleWebApp", "bin", configuration, framework, "SampleWebApp.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"The app is not built: {dll}");
    }

    /// <summary>A TCP port nothing listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Tests that run the app as a process: one at a time (see <see cref="AppProcess"/>).</summary>
[CollectionDefinition(Name)]
public sealed class AppProcessCollection
{
    public const string Name = "app processes";
}

/// <summary>The network-failure process tests: one at a time, beside <see cref="AppProcessCollection"/>.</summary>
[CollectionDefinition(NetworkFailureProcessTests.Collection)]
public sealed class NetworkFailureProcessCollection;
