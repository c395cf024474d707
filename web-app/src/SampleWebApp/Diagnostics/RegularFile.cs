using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SampleWebApp.Diagnostics;

/// <summary>What <see cref="RegularFile.Read"/> found at a path.</summary>
public enum FileKind
{
    /// <summary>A regular file: its first bytes were read.</summary>
    Regular,

    /// <summary>Nothing at that path (or a directory on the way is missing).</summary>
    Missing,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A named pipe (FIFO), socket or device: never read, since reading one can block for ever.</summary>
    Special,

    /// <summary>There, but this process may not open it.</summary>
    Unreadable,
}

/// <summary>The outcome of reading a file that the Kerberos library would read.</summary>
/// <param name="Kind">What is at the path.</param>
/// <param name="Bytes">Up to the limit's worth of its first bytes, for a regular file; otherwise empty.</param>
/// <param name="LastWriteUtc">When it was last written, when that could be found.</param>
/// <param name="SpecialKind">For <see cref="FileKind.Special"/>: "named pipe (FIFO)", "socket", "character device"...</param>
public sealed record FileRead(FileKind Kind, byte[] Bytes, DateTime? LastWriteUtc = null, string? SpecialKind = null);

/// <summary>
/// Reads a file only if it is a regular file, and at most a given number of bytes of it: a FIFO named as the ticket
/// cache made the page (and every request waiting on the thread pool behind it) hang, because opening a FIFO for reading
/// blocks until something writes to it. On Linux the file is opened with <c>O_NONBLOCK</c> (an open that cannot block,
/// see open(2)) and its type is checked on the open descriptor with statx(2) before anything is read, so a path swapped
/// for a FIFO between the check and the read cannot block either.
/// </summary>
public static partial class RegularFile
{
    // open(2) flags, the same on x86_64 and arm64 Linux (asm-generic/fcntl.h).
    private const int ORdOnly = 0x0;
    private const int ONoCtty = 0x100;
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;

    // statx(2): AT_EMPTY_PATH makes it describe the descriptor itself; STATX_TYPE | STATX_MTIME are the fields wanted.
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1;
    private const uint StatxMtime = 0x40;
    private const int StatxSize = 256;
    private const int StatxModeOffset = 28; // __u16 stx_mode
    private const int StatxMtimeOffset = 112; // struct statx_timestamp stx_mtime { __s64 tv_sec; __u32 tv_nsec; }

    private const int SIfMt = 0xF000;
    private const int SIfReg = 0x8000;
    private const int SIfDir = 0x4000;

    // errno values (Linux, all architectures this app runs on).
    private const int ENoEnt = 2;
    private const int ENxIo = 6;
    private const int ENotDir = 20;

    /// <summary>Reads at most <paramref name="maxBytes"/> of the file at <paramref name="path"/> if it is a regular file. Never blocks on a FIFO; never throws for I/O reasons.</summary>
    public static FileRead Read(string path, int maxBytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The ticket cache is checked on Linux only.");
        }

        var fd = Open(path, ORdOnly | ONonBlock | OCloExec | ONoCtty, 0);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno switch
            {
                ENoEnt or ENotDir => new FileRead(FileKind.Missing, []),
                // A socket cannot be opened at all (ENXIO); this is the one way to tell.
                ENxIo => new FileRead(FileKind.Special, [], SpecialKind: "socket"),
                _ => new FileRead(FileKind.Unreadable, []),
            };
        }

        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        var status = new byte[StatxSize];
        if (Statx(fd, "", AtEmptyPath, StatxType | StatxMtime, status) != 0)
        {
            return new FileRead(FileKind.Unreadable, []);
        }

        var mode = BitConverter.ToUInt16(status, StatxModeOffset);
        var written = DateTime.UnixEpoch.AddSeconds(BitConverter.ToInt64(status, StatxMtimeOffset))
            .AddTicks(BitConverter.ToUInt32(status, StatxMtimeOffset + 8) / 100);
        switch (mode & SIfMt)
        {
            case SIfDir:
                return new FileRead(FileKind.Directory, [], written);
            case SIfReg:
                break;
            default:
                return new FileRead(FileKind.Special, [], written, SpecialKindOf(mode & SIfMt));
        }

        try
        {
            var buffer = new byte[maxBytes];
            var length = 0;
            while (length < maxBytes)
            {
                var read = RandomAccess.Read(handle, buffer.AsSpan(length), length);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            return new FileRead(FileKind.Regular, buffer[..length], written);
        }
        catch (IOException)
        {
            return new FileRead(FileKind.Unreadable, [], written);
        }
    }

    private static string SpecialKindOf(int type) => type switch
    {
        0x1000 => "named pipe (FIFO)",
        0x2000 => "character device",
        0x6000 => "block device",
        0xC000 => "socket",
        0xA000 => "symbolic link",
        _ => "special file",
    };

    // "libc" is libc.so.6 on Linux: the runtime maps that name itself (dotnet/runtime, System.Native pal_dynamicload.c),
    // so this works in the aspnet image, which has no libc.so development link.
    // open is variadic in C (a mode follows O_CREAT); passing the mode explicitly is the same call on Linux ABIs.
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    // glibc 2.28 and later (Debian 12, Ubuntu 24.04, Amazon Linux 2023).
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, [Out] byte[] buffer);
}
