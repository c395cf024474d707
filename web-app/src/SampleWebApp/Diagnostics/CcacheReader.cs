using System.Buffers.Binary;
using System.Text;

namespace SampleWebApp.Diagnostics;

/// <summary>What a FILE ccache holds: its default principal and the end time of each ticket.</summary>
/// <param name="Principal">The default principal, e.g. <c>SampleWebApp$@DIRECTORY.EXAMPLE.COM</c>.</param>
/// <param name="Realm">Its realm: for Active Directory, the directory's DNS name in capitals.</param>
/// <param name="TicketEnds">The end time of each ticket (configuration entries are not tickets).</param>
public sealed record CcacheContents(string Principal, string Realm, IReadOnlyList<DateTime> TicketEnds);

/// <summary>
/// Reads an MIT Kerberos FILE ccache, versions 1 to 4, the way libkrb5 does: versions 1 and 2 in host byte order,
/// 3 and 4 big-endian; version 1 principals have no name type and count the realm among their components; version 3
/// stores the key's enctype twice; only version 4 has header tags.
/// https://web.mit.edu/kerberos/krb5-latest/doc/formats/ccache_file_format.html
/// (and krb5 src/lib/krb5/ccache/ccmarshal.c, which states the version differences).
/// </summary>
internal ref struct CcacheReader
{
    // Configuration entries (e.g. the KDC's pa_type) are stored as credentials in this pseudo-realm; they are no tickets.
    private const string ConfigRealm = "X-CACHECONF:";

    private readonly ReadOnlySpan<byte> _bytes;
    private readonly int _version;
    private int _at;

    private CcacheReader(ReadOnlySpan<byte> bytes, int version)
    {
        _bytes = bytes;
        _version = version;
        _at = 2;
    }

    /// <summary>
    /// The cache's principal and tickets, or null when the bytes are not a complete cache of versions 1 to 4: wrong
    /// first bytes, a header without a default principal, or a credential cut short or followed by garbage.
    /// </summary>
    public static CcacheContents? Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 2 || bytes[0] != 0x05 || bytes[1] is < 0x01 or > 0x04)
        {
            return null;
        }

        var reader = new CcacheReader(bytes, bytes[1]);
        try
        {
            return reader.ReadAll();
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private CcacheContents ReadAll()
    {
        if (_version == 4)
        {
            Skip(UInt16()); // header tags (KDC time offset)
        }

        var (principal, realm) = ReadPrincipal(); // the default principal
        var ends = new List<DateTime>();
        while (_at < _bytes.Length)
        {
            ReadPrincipal(); // client
            var (_, serverRealm) = ReadPrincipal();
            Skip(2); // key enctype
            if (_version == 3)
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

        return new CcacheContents(principal, realm, ends);
    }

    private (string Name, string Realm) ReadPrincipal()
    {
        if (_version != 1)
        {
            Skip(4); // name type
        }

        var components = UInt32();
        if (_version == 1)
        {
            components = components == 0 ? throw new FormatException("no realm") : components - 1;
        }

        if (components > 64)
        {
            throw new FormatException("too many principal components");
        }

        var realm = Encoding.UTF8.GetString(Data());
        var names = new List<string>((int)components);
        for (var i = 0; i < components; i++)
        {
            names.Add(Encoding.UTF8.GetString(Data()));
        }

        return ($"{string.Join('/', names)}@{realm}", realm);
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

    private uint UInt32() => _version < 3
        ? BitConverter.ToUInt32(Take(4))
        : BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    private int UInt16() => _version < 3
        ? BitConverter.ToUInt16(Take(2))
        : BinaryPrimitives.ReadUInt16BigEndian(Take(2));

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
