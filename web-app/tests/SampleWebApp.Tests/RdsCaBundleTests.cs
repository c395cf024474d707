using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;

namespace SampleWebApp.Tests;

/// <summary>
/// AWS's RDS CA bundle that the image trusts (web-app/rds-ca/global-bundle.pem). A changed file must be a deliberate
/// update: its SHA-256 is pinned here. Every certificate must be an Amazon RDS root CA, and the root of the CA the
/// instance is pinned to (rds-ca-rsa2048-g1, lib/constructs/sql-server.ts) must be there for every Region of the bundle.
/// </summary>
public sealed class RdsCaBundleTests
{
    /// <summary>
    /// SHA-256 of the vendored file: AWS's global-bundle.pem (96 root certificates, 2025), line endings LF. Update it
    /// together with the file (docs/security.md, "TLS to SQL Server").
    /// </summary>
    private const string BundleSha256 = "390fdc813e2e58ec5a0def8ce6422b83d75032899167052ab981d8e1b3b14ff2";

    private static readonly string BundlePath = Path.Combine(WebAppFiles.Root, "rds-ca", "global-bundle.pem");

    private static readonly Regex RootName = new(@"^Amazon RDS (?:(?:Beta|Preview) )?(?<region>[a-z]{2}(?:-[a-z]+)+-\d) Root CA (?<kind>RSA2048|RSA4096|ECC384) G1$");

    private static X509Certificate2Collection Bundle()
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPemFile(BundlePath);
        return certificates;
    }

    [Fact]
    public void The_bundle_is_the_pinned_file()
    {
        Assert.Equal(BundleSha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(BundlePath))));
        Assert.DoesNotContain((byte)'\r', File.ReadAllBytes(BundlePath));
    }

    [Fact]
    public void Every_certificate_parses_and_is_a_current_Amazon_RDS_root_CA()
    {
        var text = File.ReadAllText(BundlePath);
        var certificates = Bundle();

        // Each PEM block parsed: nothing skipped.
        Assert.Equal(Regex.Matches(text, "-----BEGIN CERTIFICATE-----").Count, certificates.Count);
        Assert.Equal(96, certificates.Count);
        foreach (var certificate in certificates)
        {
            var name = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
            Assert.Matches(RootName, name);
            Assert.Contains("O=\"Amazon Web Services, Inc.\"", certificate.Subject);
            Assert.Contains("OU=Amazon RDS", certificate.Subject);
            // A root: self-issued, a CA, and valid from before today to well after it.
            Assert.Equal(certificate.Subject, certificate.Issuer);
            var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single();
            Assert.True(constraints.CertificateAuthority, name);
            Assert.True(certificate.NotBefore < DateTime.UtcNow, name);
            Assert.True(certificate.NotAfter > new DateTime(2060, 1, 1, 0, 0, 0, DateTimeKind.Utc), $"{name} ends {certificate.NotAfter:u}");
        }

        Assert.Equal(certificates.Count, certificates.Select(c => c.Thumbprint).Distinct().Count());
    }

    [Fact]
    public void The_pinned_CA_rds_ca_rsa2048_g1_has_its_root_in_every_Region_of_the_bundle()
    {
        var names = Bundle().Select(c => RootName.Match(c.GetNameInfo(X509NameType.SimpleName, false))).ToList();
        var regions = names.Select(m => m.Groups["region"].Value).ToHashSet();
        var rsa2048 = names.Where(m => m.Groups["kind"].Value == "RSA2048").Select(m => m.Groups["region"].Value).ToHashSet();

        Assert.Equal(regions.Order(), rsa2048.Order());
        // The Regions this sample is most often deployed to, and the newest of the bundle.
        foreach (var region in new[] { "us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "ca-west-1", "il-central-1", "ap-southeast-5" })
        {
            Assert.Contains(region, rsa2048);
        }
    }

    [Fact]
    public void The_image_trusts_the_bundle_at_build_time()
    {
        var dockerfile = File.ReadAllText(Path.Combine(WebAppFiles.Root, "Dockerfile"));

        Assert.Contains("COPY rds-ca/global-bundle.pem /tmp/rds-global-bundle.pem", dockerfile);
        Assert.Contains("/usr/local/share/ca-certificates/amazon-rds/", dockerfile);
        Assert.Matches(@"&& update-ca-certificates\s*\n", dockerfile);
    }
}
