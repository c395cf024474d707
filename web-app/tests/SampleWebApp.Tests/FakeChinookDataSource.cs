using SampleWebApp.Data;

namespace SampleWebApp.Tests;

/// <summary>Stands in for SQL Server: returns a fixed snapshot or throws a given failure, and counts calls.</summary>
internal sealed class FakeChinookDataSource : IChinookDataSource
{
    public static readonly IReadOnlyList<Album> SampleAlbums =
    [
        new(1, "For Those About To Rock We Salute You", "AC/DC"),
        new(2, "Balls to the Wall", "Accept"),
        new(3, "Restless and Wild", "Accept"),
        new(4, "Let There Be Rock", "AC/DC"),
        new(5, "Big Ones", "Aerosmith"),
    ];

    private int _calls;

    public string? ServerHost { get; init; } = "sqlserver01.directory.example.com";

    public ChinookSnapshot? Snapshot { get; init; }

    public Exception? Failure { get; init; }

    /// <summary>How many times any method touched "the database".</summary>
    public int Calls => Volatile.Read(ref _calls);

    public static FakeChinookDataSource Connected(string authScheme, IReadOnlyList<Album>? albums = null) => new()
    {
        Snapshot = new ChinookSnapshot(@"DIRECTORY\SampleWebApp$", authScheme, albums ?? SampleAlbums),
    };

    public static FakeChinookDataSource Failing(Exception failure, string? serverHost = "sqlserver01.directory.example.com") => new()
    {
        Failure = failure,
        ServerHost = serverHost,
    };

    public Task<ChinookSnapshot> ReadSnapshotAsync(int albumCount, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        if (Failure is not null)
        {
            throw Failure;
        }

        return Task.FromResult(Snapshot ?? throw new InvalidOperationException("The fake has neither a snapshot nor a failure."));
    }

    public Task CheckAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        return Failure is null ? Task.CompletedTask : Task.FromException(Failure);
    }
}
