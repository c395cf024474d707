namespace SampleWebApp.Data;

/// <summary>
/// Canned answers for the README's screenshots (<c>take-screenshots.sh</c>): a Kerberos session, an NTLM session, or
/// a connection that timed out. Program.cs uses it only in the Development environment and only when
/// <see cref="VariableName"/> is set, so a deployed task can never show made-up data.
/// </summary>
public sealed class DemoChinookDataSource(string mode) : IChinookDataSource
{
    /// <summary>Environment variable that selects the canned answer: <c>kerberos</c>, <c>ntlm</c> or <c>failure</c>.</summary>
    public const string VariableName = "SAMPLEWEBAPP_FAKE_DATA";

    /// <summary>The modes <see cref="VariableName"/> accepts.</summary>
    public static readonly IReadOnlySet<string> Modes = new HashSet<string>(StringComparer.Ordinal) { "kerberos", "ntlm", "failure" };

    private static readonly IReadOnlyList<Album> Albums =
    [
        new(23, "Minha Historia", "Chico Buarque"),
        new(94, "A Matter of Life and Death", "Iron Maiden"),
        new(141, "Greatest Hits", "Lenny Kravitz"),
        new(180, "Stormy Monday", "Jimmy Smith"),
        new(232, "Mozart: Chamber Music", "Nash Ensemble"),
    ];

    /// <inheritdoc />
    public string? ServerHost => "sampledb-sql.directory.example.com";

    /// <inheritdoc />
    public string? DatabaseName => "Chinook";

    /// <inheritdoc />
    public Task<ChinookSnapshot> ReadSnapshotAsync(int albumCount, CancellationToken cancellationToken) => mode switch
    {
        "kerberos" => Task.FromResult(new ChinookSnapshot(@"DIRECTORY\SampleWebApp$", "KERBEROS", Albums.Take(albumCount).ToList())),
        "ntlm" => Task.FromResult(new ChinookSnapshot(@"DIRECTORY\SampleWebApp$", "NTLM", Albums.Take(albumCount).ToList())),
        _ => Task.FromException<ChinookSnapshot>(new ChinookDataException(DataFailureStage.Connection,
            "Connection Timeout Expired.  The timeout period elapsed while attempting to consume the pre-login handshake acknowledgement.  " +
            "This could be because the pre-login handshake failed or the server was unable to respond back in time.  " +
            "The duration spent while attempting to connect to this server was - [Pre-Login] initialization=3; handshake=4997; ",
            new TimeoutException("Unknown error 258"))
        {
            SqlErrorNumber = -2,
        }),
    };

    /// <inheritdoc />
    public Task CheckAsync(CancellationToken cancellationToken) => ReadSnapshotAsync(1, cancellationToken);
}
