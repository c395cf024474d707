using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SampleWebApp.Data;
using SampleWebApp.Diagnostics;

namespace SampleWebApp.Tests;

/// <summary>
/// The web app in memory, as the container runs it (Production environment), with its configuration given
/// explicitly so that nothing leaks in from the machine's environment.
/// </summary>
internal sealed class TestApp : WebApplicationFactory<Program>
{
    private readonly IChinookDataSource? _dataSource;
    private readonly Dictionary<string, string?> _settings;
    private readonly KerberosEnvironment _kerberos;

    /// <param name="dataSource">Replaces the SQL Server data source; null keeps the real one.</param>
    /// <param name="ticketCache">Value of KRB5CCNAME; null for unset (the default cache is then one that does not exist).</param>
    /// <param name="connectionString">ConnectionStrings:Chinook for the real data source; null for none.</param>
    public TestApp(IChinookDataSource? dataSource, string? ticketCache = null, string? connectionString = null)
    {
        _dataSource = dataSource;
        _kerberos = Kerberos(ticketCache);
        _settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Chinook"] = connectionString ?? "",
        };
    }

    /// <summary>The default cache when KRB5CCNAME is unset: one that does not exist (uid 4242, in a directory that does not exist).</summary>
    public const string MissingDefaultCache = "/nonexistent-krb5-test/krb5cc_4242";

    /// <summary>
    /// A Kerberos environment with only this KRB5CCNAME (null: unset), no krb5.conf, and a built-in default cache that
    /// does not exist, so that nothing comes from the machine running the tests.
    /// </summary>
    public static KerberosEnvironment Kerberos(string? ticketCache, string? krb5Config = "/nonexistent-krb5-test/krb5.conf") =>
        new(name => name switch
        {
            KerberosEnvironment.CacheVariable => ticketCache,
            KerberosEnvironment.ConfigVariable => krb5Config,
            _ => null,
        }, 4242, "FILE:/nonexistent-krb5-test/krb5cc_%{uid}");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        // Added last, so these win over environment variables of the machine running the tests.
        builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(_settings));
        builder.ConfigureTestServices(services =>
        {
            services.RemoveAll<KerberosEnvironment>();
            services.AddSingleton(_kerberos);
            if (_dataSource is not null)
            {
                services.RemoveAll<IChinookDataSource>();
                services.AddSingleton(_dataSource);
            }
        });
    }

    /// <summary>GETs a path and returns the status code and body.</summary>
    public async Task<(System.Net.HttpStatusCode Status, string Body)> GetAsync(string path)
    {
        using var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        using var response = await client.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
