namespace SampleWebApp.Tests;

/// <summary>The web-app/ directory of the repository (Dockerfile, rds-ca/, krb5.conf), found above the test binaries.</summary>
internal static class WebAppFiles
{
    /// <summary>The full path of web-app/.</summary>
    public static readonly string Root = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Dockerfile")) && File.Exists(Path.Combine(directory.FullName, "SampleWebApp.slnx")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No web-app directory (with Dockerfile and SampleWebApp.slnx) above {AppContext.BaseDirectory}");
    }
}
