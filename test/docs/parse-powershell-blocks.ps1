# Parses PowerShell code blocks with PowerShell's own parser (the one pwsh runs them with) and prints, as JSON, the
# first error of each block that has one. Input: a JSON file of [{ name, text }]. Used by test/docs/markdown.test.ts.
param([Parameter(Mandatory)][string] $BlocksFile)
$ErrorActionPreference = 'Stop'
$blocks = Get-Content -Raw -LiteralPath $BlocksFile | ConvertFrom-Json
$broken = @(foreach ($block in $blocks) {
    $tokens = $null
    $errors = $null
    [void][System.Management.Automation.Language.Parser]::ParseInput($block.text, [ref]$tokens, [ref]$errors)
    if ($errors.Count -gt 0) {
      "$($block.name): line $($errors[0].Extent.StartLineNumber): $($errors[0].Message)"
    }
  })
ConvertTo-Json -InputObject $broken -Compress
