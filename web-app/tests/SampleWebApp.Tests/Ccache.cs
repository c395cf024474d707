using System.Buffers.Binary;
using System.Text;

namespace SampleWebApp.Tests;

/// <summary>Writes MIT Kerberos FILE ccaches (version 4) with tickets that end when a test says.</summary>
internal static class Ccache
{
    /// <summary>A version 4 cache for <c>user@EXAMPLE.TEST</c> with one TGT per end time (and one config entry, ending 0).</summary>
    public static byte[] Version4(params DateTime[] ticketEnds)
    {
        var bytes = new List<byte> { 0x05, 0x04 };
        Uint16(bytes, 12); // header: one tag (1 = KDC time offset), 8 bytes
        Uint16(bytes, 1);
        Uint16(bytes, 8);
        Uint32(bytes, 0);
        Uint32(bytes, 0);
        Principal(bytes, "EXAMPLE.TEST", "user");
        // A configuration entry, as kinit writes one: not a ticket, so its end time 0 must not count.
        Credential(bytes, "X-CACHECONF:", ["krb5_ccache_conf_data", "pa_type"], 0);
        foreach (var end in ticketEnds)
        {
            Credential(bytes, "EXAMPLE.TEST", ["krbtgt", "EXAMPLE.TEST"], (uint)new DateTimeOffset(end).ToUnixTimeSeconds());
        }

        return [.. bytes];
    }

    private static void Credential(List<byte> bytes, string serverRealm, string[] serverComponents, uint end)
    {
        Principal(bytes, "EXAMPLE.TEST", "user");
        Principal(bytes, serverRealm, serverComponents);
        Uint16(bytes, 18); // aes256-cts
        Data(bytes, new byte[32]);
        Uint32(bytes, end == 0 ? 0 : end - 3600); // authtime
        Uint32(bytes, end == 0 ? 0 : end - 3600); // starttime
        Uint32(bytes, end);
        Uint32(bytes, 0); // renew till
        bytes.Add(0); // is_skey
        Uint32(bytes, 0); // flags
        Uint32(bytes, 0); // addresses
        Uint32(bytes, 0); // authdata
        Data(bytes, Encoding.ASCII.GetBytes("ticket"));
        Data(bytes, []);
    }

    private static void Principal(List<byte> bytes, string realm, params string[] components)
    {
        Uint32(bytes, 1); // KRB5_NT_PRINCIPAL
        Uint32(bytes, (uint)components.Length);
        Data(bytes, Encoding.UTF8.GetBytes(realm));
        foreach (var component in components)
        {
            Data(bytes, Encoding.UTF8.GetBytes(component));
        }
    }

    private static void Data(List<byte> bytes, byte[] data)
    {
        Uint32(bytes, (uint)data.Length);
        bytes.AddRange(data);
    }

    private static void Uint16(List<byte> bytes, ushort value)
    {
        var buffer = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(buffer, value);
        bytes.AddRange(buffer);
    }

    private static void Uint32(List<byte> bytes, uint value)
    {
        var buffer = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(buffer, value);
        bytes.AddRange(buffer);
    }
}
