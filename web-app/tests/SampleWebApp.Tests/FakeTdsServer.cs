using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace SampleWebApp.Tests;

/// <summary>
/// Just enough of SQL Server on 127.0.0.1 for the driver to reach the Kerberos step: it answers the TDS PRELOGIN
/// packet with "encryption not supported", so a client with <c>Encrypt=Optional</c> goes straight to LOGIN7 and asks
/// GSSAPI for a token. Then it reads what comes and hangs up.
/// https://learn.microsoft.com/openspecs/windows_protocols/ms-tds/60f56408-0188-4cd5-8b90-25c6f2423868
/// </summary>
internal sealed class FakeTdsServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private int _connections;

    public FakeTdsServer()
    {
        _listener.Start();
        _ = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>How many connections reached the server (0 proves the app did not try to log in).</summary>
    public int Connections => Volatile.Read(ref _connections);

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            Interlocked.Increment(ref _connections);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            var stream = client.GetStream();
            await ReadPacketAsync(stream, timeout.Token); // PRELOGIN
            await stream.WriteAsync(PreloginResponse(), timeout.Token);
            await ReadPacketAsync(stream, timeout.Token); // LOGIN7 (with the SSPI token), if the client gets that far
        }
        catch (Exception)
        {
            // The client hung up or the test ended: nothing to report.
        }
    }

    private static async Task ReadPacketAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var header = new byte[8];
        await stream.ReadExactlyAsync(header, cancellationToken);
        var length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
        await stream.ReadExactlyAsync(new byte[Math.Max(0, length - 8)], cancellationToken);
    }

    private static byte[] PreloginResponse()
    {
        // Option tokens (type, offset, length), 0xFF, then the data: VERSION 16.0, ENCRYPTION = NOT_SUP (2), INSTOPT, THREADID, MARS off.
        (byte Type, byte[] Data)[] options = [(0, [16, 0, 0x07, 0xD0, 0, 0]), (1, [2]), (2, [0]), (3, []), (4, [0])];
        var payload = new List<byte>();
        var data = new List<byte>();
        var offset = options.Length * 5 + 1;
        foreach (var (type, bytes) in options)
        {
            payload.Add(type);
            payload.AddRange(BigEndian((ushort)(offset + data.Count)));
            payload.AddRange(BigEndian((ushort)bytes.Length));
            data.AddRange(bytes);
        }

        payload.Add(0xFF);
        payload.AddRange(data);
        // Packet header: type 4 (tabular result), status 1 (end of message), length, SPID 0, packet 1, window 0.
        var packet = new List<byte> { 4, 1 };
        packet.AddRange(BigEndian((ushort)(8 + payload.Count)));
        packet.AddRange([0, 0, 1, 0]);
        packet.AddRange(payload);
        return [.. packet];
    }

    private static byte[] BigEndian(ushort value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, value);
        return bytes;
    }
}
