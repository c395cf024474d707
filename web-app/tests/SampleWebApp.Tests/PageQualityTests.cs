using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using SampleWebApp.Data;

namespace SampleWebApp.Tests;

/// <summary>Readability and caching of the page: contrast, wrapping, the album count, static files, /api/status.</summary>
public sealed partial class PageQualityTests
{
    private static readonly string SiteCss = File.ReadAllText(Path.Combine(
        AppContext.BaseDirectory, "..", "..", "..", "..", "..", "src", "SampleWebApp", "wwwroot", "css", "site.css"));

    [Fact]
    public void Every_text_colour_has_a_contrast_of_at_least_4_5_to_1_on_every_background_colour()
    {
        // The colours are CSS variables in :root; text uses them in `color:`, surfaces in `background:`.
        var variables = VariableRegex().Matches(SiteCss).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        var texts = ColorUseRegex().Matches(SiteCss).Select(m => m.Groups[1].Value).Append("ink").Distinct().ToList();
        var backgrounds = BackgroundUseRegex().Matches(SiteCss).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.Contains("muted", texts);
        Assert.Contains("bad-bg", backgrounds);

        var failures = (from text in texts
                        from background in backgrounds
                        let ratio = Contrast(variables[text], variables[background])
                        where ratio < 4.5
                        select $"--{text} on --{background}: {ratio:F2}:1").ToList();
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public void Long_values_wrap_anywhere_on_a_phone()
    {
        Assert.Matches(@"code, pre, td, th[^{]*\{\s*overflow-wrap:\s*anywhere;", SiteCss);
        Assert.Matches(@"@media \(max-width: 40rem\)", SiteCss);
    }

    [Fact]
    public async Task Album_heading_uses_the_number_of_albums_read()
    {
        var albums = FakeChinookDataSource.SampleAlbums.Take(3).ToList();
        using var app = new TestApp(FakeChinookDataSource.Connected("KERBEROS", albums));

        var (_, body) = await app.GetAsync("/");

        Assert.Contains("<h2>3 random albums from Chinook</h2>", body);
    }

    [Fact]
    public async Task Versioned_stylesheet_is_cached_for_a_year_and_the_page_is_not()
    {
        using var app = new TestApp(FakeChinookDataSource.Connected("KERBEROS"));
        using var client = app.CreateClient();

        using var page = await client.GetAsync("/");
        var html = await page.Content.ReadAsStringAsync();
        var href = Regex.Match(html, "href=\"(/css/site\\.css\\?v=[^\"]+)\"").Groups[1].Value;
        Assert.NotEmpty(href);
        using var css = await client.GetAsync(WebUtility.HtmlDecode(href));
        using var unversioned = await client.GetAsync("/css/site.css");

        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        Assert.Equal("public, max-age=31536000, immutable", css.Headers.CacheControl?.ToString().Replace(" ", "").Replace(",", ", "));
        Assert.Null(unversioned.Headers.CacheControl);
        Assert.True(page.Headers.CacheControl?.NoStore);
    }

    [Fact]
    public async Task Api_status_reports_a_kerberos_session_as_ok()
    {
        using var app = new TestApp(FakeChinookDataSource.Connected("KERBEROS"), ticketCache: "KEYRING:persistent:0");

        var (status, json) = await app.GetAsync("/api/status");

        Assert.Equal(HttpStatusCode.OK, status);
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.True(root.GetProperty("ok").GetBoolean());
        Assert.Equal("KERBEROS", root.GetProperty("authScheme").GetString());
        Assert.Equal(@"DIRECTORY\SampleWebApp$", root.GetProperty("login").GetString());
        Assert.Equal("sqlserver01.directory.example.com", root.GetProperty("server").GetString());
        Assert.Equal("not-checked", root.GetProperty("ticketCache").GetProperty("state").GetString());
        Assert.Equal("KEYRING:persistent:0", root.GetProperty("ticketCache").GetProperty("location").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("cause").ValueKind);
        // The fake reports no channel: null, not a guess.
        Assert.Equal(JsonValueKind.Null, root.GetProperty("channel").ValueKind);
        Assert.Equal(["ok", "authScheme", "login", "server", "database", "channel", "ticketCache", "cause"],
            root.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Api_status_is_not_ok_for_NTLM_and_says_why()
    {
        using var app = new TestApp(FakeChinookDataSource.Connected("NTLM"));

        var (_, json) = await app.GetAsync("/api/status");

        using var document = JsonDocument.Parse(json);
        Assert.False(document.RootElement.GetProperty("ok").GetBoolean());
        Assert.Contains("NTLM", document.RootElement.GetProperty("cause").GetString());
    }

    // WCAG 2 contrast ratio: https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio
    private static double Contrast(string a, string b)
    {
        var (la, lb) = (Luminance(a), Luminance(b));
        return (Math.Max(la, lb) + 0.05) / (Math.Min(la, lb) + 0.05);
    }

    private static double Luminance(string hex)
    {
        double Channel(int offset)
        {
            var c = int.Parse(hex.AsSpan(1 + offset, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture) / 255.0;
            return c <= 0.03928 ? c / 12.92 : Math.Pow((c + 0.055) / 1.055, 2.4);
        }

        return 0.2126 * Channel(0) + 0.7152 * Channel(2) + 0.0722 * Channel(4);
    }

    [GeneratedRegex(@"--([a-z-]+):\s*(#[0-9a-fA-F]{6});")]
    private static partial Regex VariableRegex();

    [GeneratedRegex(@"(?<![-\w])color:\s*var\(--([a-z-]+)\)")]
    private static partial Regex ColorUseRegex();

    [GeneratedRegex(@"background:\s*var\(--([a-z-]+)\)")]
    private static partial Regex BackgroundUseRegex();
}
