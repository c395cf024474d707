using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using SampleWebApp.Data;

var builder = WebApplication.CreateBuilder(args);

// The port comes from ASPNETCORE_HTTP_PORTS (8080 in the image). HTTP only: TLS, if any, ends at the load balancer.
builder.WebHost.ConfigureKestrel(options => options.AddServerHeader = false);

builder.Services.AddRazorPages();
// The app has no forms, cookies or sign-in, so nothing protected must survive a restart or be shared between tasks:
// keys in memory, instead of a key file on the container's disk (and the start-up warning about it).
builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
// One instance for the app's lifetime: it only parses the connection string; SqlClient pools the connections.
builder.Services.AddSingleton<IChinookDataSource, SqlChinookDataSource>();
builder.Services.AddHealthChecks()
    .AddCheck<DatabaseHealthCheck>("database", tags: [DatabaseHealthCheck.ReadyTag], timeout: TimeSpan.FromSeconds(20));

var app = builder.Build();

if (!app.Environment.IsDevelopment())
{
    // No exception details outside Development. The home page handles database failures itself.
    app.UseExceptionHandler("/Error");
}

// The page loads nothing but its own stylesheet: a strict Content-Security-Policy costs nothing.
app.Use(async (context, next) =>
{
    var headers = context.Response.Headers;
    headers.ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
    headers.XContentTypeOptions = "nosniff";
    headers["Referrer-Policy"] = "no-referrer";
    await next(context);
});

app.UseStaticFiles();
app.UseRouting();

// Liveness for the ALB and the container health check: no checks run, so it is 200 whenever the process serves requests.
app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
// Readiness: logs in to SQL Server; 503 when that fails.
app.MapHealthChecks("/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(DatabaseHealthCheck.ReadyTag) });

app.MapRazorPages();

app.Run();

/// <summary>Entry point; public so that the tests' WebApplicationFactory can start the app.</summary>
public partial class Program;
