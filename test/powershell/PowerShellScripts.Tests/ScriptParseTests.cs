using System.Management.Automation.Language;

namespace PowerShellScripts.Tests;

/// <summary>
/// Every .ps1 under scripts/ runs unattended on the bastion or by hand: it must parse with PowerShell's own parser, stop
/// on the first error, and document itself for Get-Help.
/// </summary>
public class ScriptParseTests
{
    private static readonly string ScriptsDirectory = FindScriptsDirectory();

    private static List<string> ScriptPaths() =>
        Directory.GetFiles(ScriptsDirectory, "*.ps1", SearchOption.AllDirectories)
            .Select(file => Path.GetRelativePath(ScriptsDirectory, file))
            .Order()
            .ToList();

    public static TheoryData<string> Scripts() => new(ScriptPaths());

    [Fact]
    public void GivenTheScriptsFolder_ThenItHoldsTheBastionAndMigrationScripts()
    {
        var names = ScriptPaths().Select(Path.GetFileName).ToList();
        Assert.Contains("Configure-AD.ps1", names);
        Assert.Contains("Generate-CredSpec.ps1", names);
        Assert.Contains("Update-ECSTaskDefinitionCredSpec.ps1", names);
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public void GivenAScript_ThenItParsesWithoutErrors(string script)
    {
        Parser.ParseFile(Path.Combine(ScriptsDirectory, script), out _, out var errors);
        Assert.Empty(errors.Select(e => $"{script}:{e.Extent.StartLineNumber}:{e.Extent.StartColumnNumber} {e.Message}"));
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public void GivenAScript_ThenItStopsOnTheFirstError(string script)
    {
        var ast = Parser.ParseFile(Path.Combine(ScriptsDirectory, script), out _, out _);
        var stops = ast.EndBlock?.Statements
            .OfType<AssignmentStatementAst>()
            .Any(a => a.Left is VariableExpressionAst { VariablePath.UserPath: "ErrorActionPreference" }
                      && a.Right.Extent.Text.Trim('\'', '"') == "Stop");
        Assert.True(stops, $"{script} must set $ErrorActionPreference = 'Stop' at script level");
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public void GivenAScript_ThenItsHelpHasASynopsisAndDescribesEveryParameter(string script)
    {
        var ast = Parser.ParseFile(Path.Combine(ScriptsDirectory, script), out _, out _);
        var help = ast.GetHelpContent();
        Assert.NotNull(help);
        Assert.False(string.IsNullOrWhiteSpace(help.Synopsis), $"{script} has no .SYNOPSIS");
        var parameters = ast.ParamBlock?.Parameters.Select(p => p.Name.VariablePath.UserPath.ToUpperInvariant()).Order().ToList() ?? [];
        Assert.Equal(parameters, help.Parameters.Keys.Select(k => k.ToUpperInvariant()).Order().ToList());
    }

    [Theory]
    [InlineData("try { Get-Date }")]
    [InlineData("if ($x { }")]
    [InlineData("function f { param([string] $a,) }")]
    public void FailsOnAPlantedSyntaxError(string text)
    {
        Parser.ParseInput(text, out _, out var errors);
        Assert.NotEmpty(errors);
    }

    [Fact]
    public void FailsOnARealScriptWithItsLastBraceRemoved()
    {
        var text = File.ReadAllText(Path.Combine(ScriptsDirectory, "Generate-CredSpec.ps1"));
        Parser.ParseInput(text[..text.LastIndexOf('}')], out _, out var errors);
        Assert.NotEmpty(errors);
    }

    private static string FindScriptsDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "scripts");
            if (File.Exists(Path.Combine(dir.FullName, "cdk.json")) && Directory.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("No scripts/ folder beside a cdk.json above " + AppContext.BaseDirectory);
    }
}
