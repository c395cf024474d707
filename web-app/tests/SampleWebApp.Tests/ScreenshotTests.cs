using System.Buffers.Binary;
using System.IO.Compression;

namespace SampleWebApp.Tests;

/// <summary>
/// The README's screenshots (web-app/screenshots, from take-screenshots.sh) end where the page ends: before, the phone
/// shot of the failure page ended in ~200 px of blank, because the window sizes were guessed.
/// </summary>
public sealed class ScreenshotTests
{
    private static readonly string Directory = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "screenshots"));

    public static TheoryData<string> Shots() => new(System.IO.Directory.GetFiles(Directory, "*.png").Select(Path.GetFileName).Order()!);

    [Theory]
    [MemberData(nameof(Shots))]
    public void Shot_ends_at_most_48_px_below_the_last_line_of_the_page(string name)
    {
        var (width, height, rows) = Png.Read(Path.Combine(Directory, name));
        var background = rows[^1][..3];

        // The last row that has anything but the page background on it.
        var last = Enumerable.Range(0, height).Last(y => Enumerable.Range(0, width).Any(x => !rows[y].AsSpan(x * 3, 3).SequenceEqual(background)));

        Assert.True(height - 1 - last <= 48, $"{name}: {height - 1 - last} px of blank below the page ({width}x{height})");
        Assert.True(width is 1280 or 390, $"{name}: {width} px wide");
    }

    /// <summary>Just enough of PNG for Chromium's screenshots: 8-bit RGB or RGBA, not interlaced. https://www.w3.org/TR/png-3/</summary>
    private static class Png
    {
        public static (int Width, int Height, byte[][] RgbRows) Read(string path)
        {
            var bytes = File.ReadAllBytes(path);
            int width = 0, height = 0, channels = 0;
            using var idat = new MemoryStream();
            for (var at = 8; at < bytes.Length;)
            {
                var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(at));
                var type = System.Text.Encoding.ASCII.GetString(bytes, at + 4, 4);
                var data = bytes.AsSpan(at + 8, length);
                if (type == "IHDR")
                {
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    Assert.Equal(8, data[8]); // bit depth
                    channels = data[9] switch { 2 => 3, 6 => 4, var other => throw new NotSupportedException($"colour type {other}") };
                    Assert.Equal(0, data[12]); // not interlaced
                }
                else if (type == "IDAT")
                {
                    idat.Write(data);
                }

                at += 12 + length;
            }

            idat.Position = 0;
            using var inflated = new MemoryStream();
            using (var zlib = new ZLibStream(idat, CompressionMode.Decompress))
            {
                zlib.CopyTo(inflated);
            }

            var raw = inflated.ToArray();
            var stride = width * channels;
            var previous = new byte[stride];
            var rows = new byte[height][];
            for (var y = 0; y < height; y++)
            {
                var filter = raw[y * (stride + 1)];
                var row = raw.AsSpan(y * (stride + 1) + 1, stride).ToArray();
                for (var i = 0; i < stride; i++)
                {
                    int left = i >= channels ? row[i - channels] : 0, up = previous[i], upLeft = i >= channels ? previous[i - channels] : 0;
                    row[i] = (byte)(row[i] + filter switch
                    {
                        0 => 0,
                        1 => left,
                        2 => up,
                        3 => (left + up) / 2,
                        4 => Paeth(left, up, upLeft),
                        _ => throw new NotSupportedException($"filter {filter}"),
                    });
                }

                previous = row;
                rows[y] = channels == 3 ? row : Enumerable.Range(0, width).SelectMany(x => row.AsSpan(x * 4, 3).ToArray()).ToArray();
            }

            return (width, height, rows);
        }

        private static int Paeth(int a, int b, int c)
        {
            int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
            return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
    }
}
