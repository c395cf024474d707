using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SampleWebApp.Data;

/// <summary>
/// Readiness: can the app log in to SQL Server and run a query? Used by <c>/ready</c> only. The load balancer and
/// container health checks use <c>/healthz</c>, which never touches the database, so that a database or Kerberos
/// problem shows on the page instead of making ECS replace healthy tasks in a loop.
/// </summary>
public sealed class DatabaseHealthCheck(IChinookDataSource dataSource) : IHealthCheck
{
    /// <summary>Tag of the checks that <c>/ready</c> runs.</summary>
    public const string ReadyTag = "ready";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await dataSource.CheckAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (ChinookDataException ex)
        {
            return HealthCheckResult.Unhealthy($"{ex.Stage}: {ex.Message}");
        }
    }
}
