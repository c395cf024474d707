using System.Text.Json;
using System.Text.RegularExpressions;

namespace SampleWebApp.Tests;

/// <summary>
/// The Dockerfile and the settings files that go into the image. No Docker engine runs the tests, so these check
/// what `cdk deploy` will build: the base images, the port, the user, the Kerberos libraries, and that no
/// connection string or password is baked in.
/// </summary>
public sealed class PackagingTests
{
    private static readonly string WebAppDirectory = WebAppFiles.Root;

    private static string Dockerfile => File.ReadAllText(Path.Combine(WebAppDirectory, "Dockerfile"));

    [Fact]
    public void Dockerfile_builds_linux_x64_with_the_NET_10_SDK_and_runs_on_the_ASP_NET_10_runtime_for_linux_amd64()
    {
        var froms = Regex.Matches(Dockerfile, @"^FROM\s+(.+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value.Trim()).ToList();

        Assert.Equal(2, froms.Count);
        Assert.Matches(@"^--platform=\$BUILDPLATFORM mcr\.microsoft\.com/dotnet/sdk:10\.0\S* AS build$", froms[0]);
        Assert.Matches(@"dotnet publish [^\n]*\\\n[^\n]*--runtime linux-x64", Dockerfile);
        Assert.Matches(@"^--platform=linux/amd64 mcr\.microsoft\.com/dotnet/aspnet:10\.0\S* AS runtime$", froms[1]);
    }

    [Fact]
    public void Dockerfile_listens_on_8080_installs_kerberos_and_runs_as_root_with_a_reason()
    {
        Assert.Contains("ENV ASPNETCORE_HTTP_PORTS=8080", Dockerfile);
        Assert.Contains("EXPOSE 8080", Dockerfile);
        Assert.Contains("libgssapi-krb5-2", Dockerfile);
        Assert.Contains("COPY krb5.conf /etc/krb5.conf", Dockerfile);
        Assert.Matches(@"(?m)^USER root$", Dockerfile);
        Assert.Contains("root:root with mode 0600", Dockerfile);
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"SampleWebApp.dll\"]", Dockerfile);
    }

    [Fact]
    public void Docker_health_check_asks_healthz_on_8080()
    {
        var healthCheck = Regex.Match(Dockerfile, @"^HEALTHCHECK .*\\\n\s*CMD (.+)$", RegexOptions.Multiline);
        Assert.True(healthCheck.Success, "no HEALTHCHECK instruction");
        var command = JsonSerializer.Deserialize<string[]>(healthCheck.Groups[1].Value);
        Assert.NotNull(command);
        Assert.Equal("bash", command[0]);
        Assert.Contains("/dev/tcp/127.0.0.1/8080", command[2]);
        Assert.Contains("GET /healthz HTTP/1.1\\r\\n", command[2]);
    }

    [Fact]
    public void Dockerfile_copies_only_files_that_exist_and_are_not_docker_ignored()
    {
        var ignored = File.ReadAllLines(Path.Combine(WebAppDirectory, ".dockerignore"))
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .ToList();
        var sources = Regex.Matches(Dockerfile, @"^COPY\s+(?!--from)(\S+)\s+\S+$", RegexOptions.Multiline)
            .Select(m => m.Groups[1].Value)
            .ToList();

        Assert.NotEmpty(sources);
        foreach (var source in sources)
        {
            var path = Path.Combine(WebAppDirectory, source);
            Assert.True(File.Exists(path) || Directory.Exists(path), $"COPY source {source} does not exist under web-app/");
            Assert.DoesNotContain(ignored, pattern => source.TrimEnd('/').StartsWith(pattern.TrimEnd('/'), StringComparison.Ordinal));
        }

        // The tests and build output stay out of the build context (and out of the CDK asset hash).
        Assert.Contains("tests/", ignored);
        Assert.Contains("**/bin/", ignored);
        Assert.Contains("**/obj/", ignored);
    }

    [Fact]
    public void Krb5_conf_finds_the_KDC_in_DNS_and_does_not_canonicalize_the_server_name()
    {
        var krb5 = File.ReadAllText(Path.Combine(WebAppDirectory, "krb5.conf"));

        Assert.Matches(@"(?m)^\s*dns_lookup_kdc = true$", krb5);
        Assert.Matches(@"(?m)^\s*rdns = false$", krb5);
        Assert.Matches(@"(?m)^\s*dns_canonicalize_hostname = false$", krb5);
        Assert.DoesNotMatch(@"(?m)^\s*default_realm", krb5);
    }

    [Fact]
    public void Settings_files_hold_no_connection_string_or_password()
    {
        var files = Directory.GetFiles(Path.Combine(WebAppDirectory, "src", "SampleWebApp"), "appsettings*.json");

        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            using var _ = JsonDocument.Parse(text);
            Assert.DoesNotContain("ConnectionStrings", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Password", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Server=", text, StringComparison.OrdinalIgnoreCase);
        }
    }
}
