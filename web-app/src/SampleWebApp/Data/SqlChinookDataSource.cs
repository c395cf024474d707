using Microsoft.Data.SqlClient;
using SampleWebApp.Diagnostics;

namespace SampleWebApp.Data;

/// <summary>
/// Reads the Chinook database with Microsoft.Data.SqlClient. The connection string comes from configuration
/// (<c>ConnectionStrings:Chinook</c>, i.e. the environment variable <c>ConnectionStrings__Chinook</c> set by the
/// ECS task definition) and uses <c>Integrated Security=true</c>: on Linux the driver authenticates with Kerberos
/// through GSSAPI, using the ticket cache named by <c>KRB5CCNAME</c> that credentials-fetcher keeps fresh.
/// https://learn.microsoft.com/sql/connect/ado-net/sql/kerberos-authentication-linux
/// </summary>
public sealed class SqlChinookDataSource : IChinookDataSource
{
    /// <summary>Name of the connection string in configuration.</summary>
    public const string ConnectionStringName = "Chinook";

    /// <summary>
    /// Connect Timeout (seconds) used when the connection string sets none. SqlClient's own default, 15 s, made every
    /// failing page (unresolvable host, refused port, silent listener) take 16-19 s. It is set here, not in the task
    /// definition's connection string, because this is the one place that covers every way the app runs (ECS, your own
    /// task definition, `dotnet run` locally); a connection string that names a timeout still wins.
    /// </summary>
    public const int DefaultConnectTimeoutSeconds = 5;

    // SQL Server error numbers for "permission denied" on sys.dm_exec_connections (it needs VIEW SERVER STATE).
    private static readonly HashSet<int> PermissionDeniedErrors = [297, 300];

    private static readonly string[] ProtocolPrefixes = ["tcp:", "admin:"];

    private const string SessionSql = "SELECT SYSTEM_USER;";

    // encrypt_option is TRUE when the session's channel is encrypted (the column AWS's RDS for SQL Server guide reads).
    // https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-exec-connections-transact-sql
    private const string SessionSecuritySql =
        "SELECT auth_scheme, encrypt_option FROM sys.dm_exec_connections WHERE session_id = @@SPID;";

    // Same value as sys.dm_exec_connections.auth_scheme, readable without VIEW SERVER STATE.
    // https://learn.microsoft.com/sql/t-sql/functions/connectionproperty-transact-sql
    private const string AuthSchemeFallbackSql = "SELECT CONVERT(nvarchar(40), CONNECTIONPROPERTY('auth_scheme'));";

    private const string AlbumsSql =
        """
        SELECT TOP (@count) al.AlbumId, al.Title, ar.Name
        FROM dbo.Album AS al
        JOIN dbo.Artist AS ar ON ar.ArtistId = al.ArtistId
        ORDER BY NEWID();
        """;

    private readonly string? _connectionString;
    private readonly string? _configurationProblem;
    private readonly ILogger<SqlChinookDataSource> _logger;
    private readonly KerberosEnvironment _kerberos;
    private readonly bool _usesKerberos;
    private readonly string _encryptMode = "";
    private readonly bool _verifiesCertificate;
    private readonly string? _certificateHostName;

    /// <param name="configuration">Holds the connection string.</param>
    /// <param name="logger">The container log.</param>
    /// <param name="kerberos">Finds the ticket cache the Kerberos library will use; this process's environment when null.</param>
    public SqlChinookDataSource(IConfiguration configuration, ILogger<SqlChinookDataSource> logger, KerberosEnvironment? kerberos = null)
    {
        _logger = logger;
        _kerberos = kerberos ?? KerberosEnvironment.OfThisProcess();
        var connectionString = configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            _configurationProblem =
                $"No connection string: set the environment variable ConnectionStrings__{ConnectionStringName} " +
                "(for example Server=<db-instance-id>.<directory DNS name>;Database=Chinook;Integrated Security=true;" +
                "Encrypt=Mandatory;TrustServerCertificate=false;HostNameInCertificate=<RDS endpoint>).";
            return;
        }

        try
        {
            var builder = new SqlConnectionStringBuilder(connectionString);
            if (!builder.ShouldSerialize("Connect Timeout"))
            {
                builder.ConnectTimeout = DefaultConnectTimeoutSeconds;
            }

            ServerHost = HostOf(builder.DataSource);
            ServerPort = PortOf(builder.DataSource);
            DatabaseName = string.IsNullOrWhiteSpace(builder.InitialCatalog) ? null : builder.InitialCatalog;
            _usesKerberos = builder.IntegratedSecurity;
            // SqlConnectionEncryptOption prints Mandatory as "True": name the three modes as the docs do.
            _encryptMode = builder.Encrypt == SqlConnectionEncryptOption.Strict ? "Strict"
                : builder.Encrypt == SqlConnectionEncryptOption.Mandatory ? "Mandatory"
                : "Optional";
            // HostNameInCertificate counts only with Encrypt=Mandatory or Strict; then, without TrustServerCertificate,
            // OpenAsync succeeds only once the certificate's chain and name have been checked.
            // https://learn.microsoft.com/dotnet/api/microsoft.data.sqlclient.sqlconnectionstringbuilder.hostnameincertificate
            var required = builder.Encrypt == SqlConnectionEncryptOption.Mandatory || builder.Encrypt == SqlConnectionEncryptOption.Strict;
            _verifiesCertificate = required && !builder.TrustServerCertificate;
            _certificateHostName = string.IsNullOrWhiteSpace(builder.HostNameInCertificate) ? ServerHost : builder.HostNameInCertificate;
            _connectionString = builder.ConnectionString;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            // The driver's message names the bad keyword, not the values (so no secret reaches the page).
            _configurationProblem = $"The connection string ConnectionStrings__{ConnectionStringName} is not valid: {ex.Message}";
        }
    }

    /// <inheritdoc />
    public string? ServerHost { get; }

    /// <inheritdoc />
    public int? ServerPort { get; }

    /// <inheritdoc />
    public string? DatabaseName { get; }

    /// <summary>The Connect Timeout the connections use (seconds), or null without a valid connection string.</summary>
    internal int? ConnectTimeoutSeconds => _connectionString is null ? null : new SqlConnectionStringBuilder(_connectionString).ConnectTimeout;

    /// <inheritdoc />
    public async Task<ChinookSnapshot> ReadSnapshotAsync(int albumCount, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        try
        {
            var login = (string?)await ScalarAsync(connection, SessionSql, cancellationToken) ?? "";
            var (authScheme, encrypted) = await ReadSessionSecurityAsync(connection, cancellationToken);
            var albums = await ReadAlbumsAsync(connection, albumCount, cancellationToken);
            return new ChinookSnapshot(login, authScheme, albums, Channel(encrypted));
        }
        catch (SqlException ex)
        {
            _logger.LogError(ex, "Query against {Host} failed", ServerHost);
            throw new ChinookDataException(DataFailureStage.Query, ex.Message, ex) { SqlErrorNumber = ex.Number };
        }
    }

    /// <inheritdoc />
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        try
        {
            await ScalarAsync(connection, "SELECT 1;", cancellationToken);
        }
        catch (SqlException ex)
        {
            throw new ChinookDataException(DataFailureStage.Query, ex.Message, ex) { SqlErrorNumber = ex.Number };
        }
    }

    /// <summary>
    /// The host part of a SqlClient data source: drops a protocol prefix (<c>tcp:</c>), a port (<c>,1433</c>)
    /// and an instance name (<c>\SQLEXPRESS</c>).
    /// </summary>
    internal static string? HostOf(string? dataSource)
    {
        if (string.IsNullOrWhiteSpace(dataSource))
        {
            return null;
        }

        var host = dataSource.Trim();
        foreach (var prefix in ProtocolPrefixes)
        {
            if (host.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                host = host[prefix.Length..];
                break;
            }
        }

        var end = host.IndexOfAny([',', '\\']);
        return (end >= 0 ? host[..end] : host).Trim();
    }

    /// <summary>The port of a SqlClient data source (<c>host,1433</c>), or null when it names none.</summary>
    internal static int? PortOf(string? dataSource)
    {
        var comma = dataSource?.LastIndexOf(',') ?? -1;
        return comma >= 0 && int.TryParse(dataSource![(comma + 1)..].Trim(), System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out var port) ? port : null;
    }

    private async Task<SqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (_connectionString is null)
        {
            throw new ChinookDataException(DataFailureStage.Configuration, _configurationProblem ?? "No connection string.");
        }

        if (_usesKerberos)
        {
            // Checked before every login, since credentials-fetcher may be writing the cache right now.
            // It is the cache the library would open (KRB5CCNAME, else krb5.conf's default_ccache_name, else
            // /tmp/krb5cc_<uid>): a garbage default cache crashed the process as surely as a garbage KRB5CCNAME.
            var ticketCache = TicketCache.Inspect(_kerberos);
            if (!ticketCache.AllowsLogin)
            {
                _logger.LogWarning("Not logging in to {Host}: the ticket cache {Path} is {State}", ServerHost, ticketCache.Path, ticketCache.StateName);
                throw new ChinookDataException(DataFailureStage.TicketCache, ticketCache.Problem)
                {
                    TicketCache = ticketCache,
                };
            }
        }

        var connection = new SqlConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            return connection;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await connection.DisposeAsync();
            // The full exception (with stack trace) goes to the container log; the page shows only the message.
            _logger.LogError(ex, "Connecting to SQL Server {Host} failed", ServerHost);
            throw new ChinookDataException(DataFailureStage.Connection, ex.Message, ex)
            {
                SqlErrorNumber = (ex as SqlException)?.Number,
            };
        }
    }

    /// <summary>What the client's settings and SQL Server's <c>encrypt_option</c> say about the channel.</summary>
    internal ChannelSecurity Channel(bool? serverReportsEncrypted) =>
        new(serverReportsEncrypted, _encryptMode, _verifiesCertificate, _certificateHostName);

    private async Task<(string? AuthScheme, bool? Encrypted)> ReadSessionSecurityAsync(SqlConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = new SqlCommand(SessionSecuritySql, connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return (null, null);
            }

            var authScheme = reader.IsDBNull(0) ? null : reader.GetString(0);
            bool? encrypted = reader.IsDBNull(1) ? null : string.Equals(reader.GetString(1), "TRUE", StringComparison.OrdinalIgnoreCase);
            return (authScheme, encrypted);
        }
        catch (SqlException ex) when (PermissionDeniedErrors.Contains(ex.Number))
        {
            // CONNECTIONPROPERTY has auth_scheme but no encrypt_option: SQL Server's side of the channel stays unknown.
            _logger.LogInformation("No VIEW SERVER STATE for sys.dm_exec_connections; reading CONNECTIONPROPERTY('auth_scheme') instead");
            return ((string?)await ScalarAsync(connection, AuthSchemeFallbackSql, cancellationToken), null);
        }
    }

    private static async Task<IReadOnlyList<Album>> ReadAlbumsAsync(SqlConnection connection, int count, CancellationToken cancellationToken)
    {
        await using var command = new SqlCommand(AlbumsSql, connection);
        command.Parameters.Add(new SqlParameter("@count", System.Data.SqlDbType.Int) { Value = count });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var albums = new List<Album>(count);
        while (await reader.ReadAsync(cancellationToken))
        {
            albums.Add(new Album(reader.GetInt32(0), reader.GetString(1), reader.IsDBNull(2) ? "" : reader.GetString(2)));
        }

        return albums;
    }

    private static async Task<object?> ScalarAsync(SqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new SqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is DBNull ? null : value;
    }
}
