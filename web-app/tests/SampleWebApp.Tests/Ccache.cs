using System.Buffers.Binary;
using System.Text;

namespace SampleWebApp.Tests;

/// <summary>
/// Writes MIT Kerberos FILE ccaches with tickets that end when a test says, in any of the four versions, as
/// krb5's ccmarshal.c writes them: versions 1 and 2 in host byte order, 3 and 4 big-endian; version 1 principals
/// without a name type and with the realm counted among the components; version 3 keys with the enctype twice;
/// header tags in version 4 only. https://web.mit.edu/kerberos/krb5-latest/doc/formats/ccache_file_format.html
/// </summary>
internal static class Ccache
{
    /// <summary>A version 4 cache for <c>user@EXAMPLE.TEST</c> with one TGT per end time (and one config entry, ending 0).</summary>
    public static byte[] Version4(params DateTime[] ticketEnds) => Version(4, ticketEnds);

    /// <summary>A cache of the given version with one TGT per end time, after a configuration entry as kinit writes one.</summary>
    public static byte[] Version(int version, params DateTime[] ticketEnds)
    {
        var writer = new Writer(version);
        writer.Header();
        writer.Principal("EXAMPLE.TEST", "user");
        // A configuration entry: not a ticket, so its end time 0 must not count.
        writer.Credential("X-CACHECONF:", ["krb5_ccache_conf_data", "pa_type"], 0);
        foreach (var end in ticketEnds)
        {
            writer.Credential("EXAMPLE.TEST", ["krbtgt", "EXAMPLE.TEST"], (uint)new DateTimeOffset(end).ToUnixTimeSeconds());
        }

        return [.. writer.Bytes];
    }

    /// <summary>The first bytes of a cache of the given version and nothing more: version 4 with its header tags.</summary>
    public static byte[] HeaderOnly(int version)
    {
        var writer = new Writer(version);
        writer.Header();
        return [.. writer.Bytes];
    }

    private sealed class Writer(int version)
    {
        public List<byte> Bytes { get; } = [0x05, (byte)version];

        public void Header()
        {
            if (version == 4)
            {
                Uint16(12); // header: one tag (1 = KDC time offset), 8 bytes
                Uint16(1);
                Uint16(8);
                Uint32(0);
                Uint32(0);
            }
        }

        public void Credential(string serverRealm, string[] serverComponents, uint end)
        {
            Principal("EXAMPLE.TEST", "user");
            Principal(serverRealm, serverComponents);
            Uint16(18); // aes256-cts
            if (version == 3)
            {
                Uint16(18);
            }

            Data(new byte[32]);
            Uint32(end == 0 ? 0 : end - 3600); // authtime
            Uint32(end == 0 ? 0 : end - 3600); // starttime
            Uint32(end);
            Uint32(0); // renew till
            Bytes.Add(0); // is_skey
            Uint32(0); // flags
            Uint32(0); // addresses
            Uint32(0); // authdata
            Data(Encoding.ASCII.GetBytes("ticket"));
            Data([]);
        }

        public void Principal(string realm, params string[] components)
        {
            if (version != 1)
            {
                Uint32(1); // KRB5_NT_PRINCIPAL
            }

            Uint32((uint)components.Length + (version == 1 ? 1u : 0u));
            Data(Encoding.UTF8.GetBytes(realm));
            foreach (var component in components)
            {
                Data(Encoding.UTF8.GetBytes(component));
            }
        }

        private void Data(byte[] data)
        {
            Uint32((uint)data.Length);
            Bytes.AddRange(data);
        }

        private void Uint16(ushort value)
        {
            var buffer = new byte[2];
            if (version < 3)
            {
                BitConverter.TryWriteBytes(buffer, value);
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(buffer, value);
            }

            Bytes.AddRange(buffer);
        }

        private void Uint32(uint value)
        {
            var buffer = new byte[4];
            if (version < 3)
            {
                BitConverter.TryWriteBytes(buffer, value);
            }
            else
            {
                BinaryPrimitives.WriteUInt32BigEndian(buffer, value);
            }

            Bytes.AddRange(buffer);
        }
    }
}
