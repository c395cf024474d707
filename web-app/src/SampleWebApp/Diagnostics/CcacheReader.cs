using System.Buffers.Binary;
using System.Text;

namespace SampleWebApp.Diagnostics;

/// <summary>
/// Reads the end times of the tickets in an MIT Kerberos FILE ccache, versions 3 and 4 (big-endian).
/// https://web.mit.edu/kerberos/krb5-latest/doc/formats/ccache_file_format.html
/// </summary>
internal ref struct CcacheReader
{
    // Configuration entries (e.g. the KDC's pa_type) are stored as credentials in this pseudo-realm; they are no tickets.
    private const string ConfigRealm = "X-CACHECONF:";

    private readonly ReadOnlySpan<byte> _bytes;
    private int _at;

    private CcacheReader(ReadOnlySpan<byte> bytes)
    {
        _bytes = bytes;
        _at = 0;
    }

    /// <summary>The end time of each ticket, or null when the bytes are not a complete version 3 or 4 cache.</summary>
    public static List<DateTime>? TicketEndTimes(ReadOnlySpan<byte> bytes)
    {
        var reader = new CcacheReader(bytes);
        try
        {
            return reader.ReadAll();
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private List<DateTime> ReadAll()
    {
        var version = Take(2)[1];
        if (version == 4)
        {
            Skip(UInt16()); // header tags (KDC time offset)
        }

        ReadPrincipal(); // the default principal
        var ends = new List<DateTime>();
        while (_at < _bytes.Length)
        {
            ReadPrincipal(); // client
            var serverRealm = ReadPrincipal();
            Skip(2); // key enctype
            if (version == 3)
            {
                Skip(2); // version 3 repeats the enctype
            }

            SkipData(); // key
            Skip(8); // authtime, starttime
            var end = UInt32();
            Skip(4 + 1 + 4); // renew_till, is_skey, ticket_flags
            SkipCounted(); // addresses
            SkipCounted(); // authdata
            SkipData(); // ticket
            SkipData(); // second ticket
            if (serverRealm != ConfigRealm)
            {
                ends.Add(DateTime.UnixEpoch.AddSeconds(end));
            }
        }

        return ends;
    }

    private string ReadPrincipal()
    {
        Skip(4); // name type
        var components = UInt32();
        if (components > 64)
        {
            throw new FormatException("too many principal components");
        }

        var realm = Encoding.UTF8.GetString(Data());
        for (var i = 0; i < components; i++)
        {
            SkipData();
        }

        return realm;
    }

    private void SkipCounted()
    {
        var count = UInt32();
        if (count > 1024)
        {
            throw new FormatException("too many entries");
        }

        for (var i = 0; i < count; i++)
        {
            Skip(2); // type
            SkipData();
        }
    }

    private ReadOnlySpan<byte> Data() => Take(checked((int)Math.Min(UInt32(), int.MaxValue)));

    private void SkipData() => Data();

    private uint UInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    private int UInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    private void Skip(int count) => Take(count);

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > _bytes.Length - _at)
        {
            throw new FormatException("truncated");
        }

        var slice = _bytes.Slice(_at, count);
        _at += count;
        return slice;
    }
}
