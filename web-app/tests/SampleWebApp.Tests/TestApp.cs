using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SampleWebApp.Data;

namespace SampleWebApp.Tests;

/// <summary>
/// The web app in memory, as the container runs it (Production environment), with its configuration given
/// explicitly so that nothing leaks in from the machine's environment.
/// </summary>
internal sealed class TestApp : WebApplicationFactory<Program>
{
    private readonly IChinookDataSource? _dataSource;
    private readonly Dictionary<string, string?> _settings;

    /// <param name="dataSource">Replaces the SQL Server data source; null keeps the real one.</param>
    /// <param name="ticketCache">Value of KRB5CCNAME; null for unset.</param>
    /// <param name="connectionString">ConnectionStrings:Chinook for the real data source; null for none.</param>
    public TestApp(IChinookDataSource? dataSource, string? ticketCache = null, string? connectionString = null)
    {
        _dataSource = dataSource;
        _settings = new Dictionary<string, string?>
        {
            ["KRB5CCNAME"] = ticketCache ?? "",
            ["ConnectionStrings:Chinook"] = connectionString ?? "",
        };
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        // Added last, so these win over environment variables of the machine running the tests.
        builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(_settings));
        if (_dataSource is not null)
        {
            builder.ConfigureTestServices(services =>
            {
                services.RemoveAll<IChinookDataSource>();
                services.AddSingleton(_dataSource);
            });
        }
    }

    /// <summary>GETs a path and returns the status code and body.</summary>
    public async Task<(System.Net.HttpStatusCode Status, string Body)> GetAsync(string path)
    {
        using var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        using var response = await client.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
