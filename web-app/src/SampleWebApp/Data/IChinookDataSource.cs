namespace SampleWebApp.Data;

/// <summary>
/// Everything the home page needs from SQL Server. The real implementation is <see cref="SqlChinookDataSource"/>;
/// tests replace it with a fake so that they need no database.
/// </summary>
public interface IChinookDataSource
{
    /// <summary>
    /// The SQL Server host name taken from the connection string, or null when there is no (valid) connection string.
    /// Never throws and never touches the network.
    /// </summary>
    string? ServerHost { get; }

    /// <summary>The TCP port named in the connection string (<c>Server=host,port</c>), or null for the default. Never touches the network.</summary>
    int? ServerPort => null;

    /// <summary>The database named in the connection string (<c>Database=</c>), or null. Never touches the network.</summary>
    string? DatabaseName => null;

    /// <summary>
    /// Opens one connection, reads who this session is and how it authenticated, and picks random albums.
    /// </summary>
    /// <exception cref="ChinookDataException">The connection string is missing, the connection or login failed, or a query failed.</exception>
    Task<ChinookSnapshot> ReadSnapshotAsync(int albumCount, CancellationToken cancellationToken);

    /// <summary>Opens a connection and runs a trivial query; used by <c>/ready</c>.</summary>
    /// <exception cref="ChinookDataException">The database cannot be reached or the login failed.</exception>
    Task CheckAsync(CancellationToken cancellationToken);
}

/// <summary>What the app read from SQL Server over one connection.</summary>
/// <param name="LoginName"><c>SYSTEM_USER</c>: the login SQL Server mapped this session to, e.g. <c>DIRECTORY\SampleWebApp$</c>.</param>
/// <param name="AuthScheme"><c>auth_scheme</c> from <c>sys.dm_exec_connections</c> (<c>KERBEROS</c>, <c>NTLM</c> or <c>SQL</c>),
/// or null when the login may not read it (it needs VIEW SERVER STATE).</param>
/// <param name="Albums">Random albums from Chinook.</param>
/// <param name="Channel">How the connection was protected, or null when the data source does not say.</param>
public sealed record ChinookSnapshot(string LoginName, string? AuthScheme, IReadOnlyList<Album> Albums, ChannelSecurity? Channel = null);

/// <summary>How the connection to SQL Server was protected, from both ends.</summary>
/// <param name="ServerReportsEncrypted">
/// SQL Server's own view: <c>encrypt_option</c> of <c>sys.dm_exec_connections</c> for this session (<c>TRUE</c> when the
/// channel is encrypted), or null when the login may not read it (it needs VIEW SERVER STATE).
/// </param>
/// <param name="EncryptMode">The client's <c>Encrypt</c> setting: <c>Optional</c>, <c>Mandatory</c> or <c>Strict</c>.</param>
/// <param name="CertificateVerified">
/// True when the client required encryption (Mandatory or Strict) and did not trust the certificate blindly
/// (<c>TrustServerCertificate=false</c>): then SqlClient opens the connection only after it has checked the
/// certificate's chain against the trust store and its name against <paramref name="CertificateHostName"/>.
/// </param>
/// <param name="CertificateHostName">The name the certificate is checked against: <c>HostNameInCertificate</c>, else the server name.</param>
public sealed record ChannelSecurity(bool? ServerReportsEncrypted, string EncryptMode, bool CertificateVerified, string? CertificateHostName)
{
    /// <summary>Encrypted (as far as SQL Server says) and verified by the client.</summary>
    public bool Verified => CertificateVerified && ServerReportsEncrypted != false;
}

/// <summary>One album of the Chinook sample database, with its artist.</summary>
public sealed record Album(int Id, string Title, string Artist);

/// <summary>Which step of talking to SQL Server failed.</summary>
public enum DataFailureStage
{
    /// <summary>No connection string, or one that cannot be parsed.</summary>
    Configuration,

    /// <summary>Opening the connection failed: name resolution, network, TLS, or the login (Kerberos) itself.</summary>
    Connection,

    /// <summary>
    /// The Kerberos ticket cache named by <c>KRB5CCNAME</c> is not usable, so the app did not try to log in
    /// (a bad cache crashes .NET's Kerberos code instead of failing the login).
    /// </summary>
    TicketCache,

    /// <summary>The login worked but a query failed (missing database, table or permission).</summary>
    Query,
}

/// <summary>
/// A failure the page explains to the reader. <see cref="Exception.Message"/> is the driver's own message
/// (safe to show: it holds no password, since the app uses Windows authentication).
/// </summary>
public sealed class ChinookDataException : Exception
{
    public ChinookDataException(DataFailureStage stage, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Stage = stage;
    }

    /// <summary>The step that failed.</summary>
    public DataFailureStage Stage { get; }

    /// <summary>SQL Server's error number when the driver reported one (18456 = login failed), otherwise null.</summary>
    public int? SqlErrorNumber { get; init; }

    /// <summary>The ticket cache that stopped the login, for <see cref="DataFailureStage.TicketCache"/>.</summary>
    public SampleWebApp.Diagnostics.TicketCacheStatus? TicketCache { get; init; }
}
