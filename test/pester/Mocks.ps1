<#
    Dot-sourced by every Describe's BeforeAll (Pester scopes the mocks to that block): Pester mocks of the commands that exist on Linux but must not
    act for real (the clock, sleeping, the network), and of the scripts' Windows-only seams.
#>
# The clock only moves when the scripts sleep: a bounded wait ends by the clock, without waiting.
Mock Get-Date { $global:BastionFake.Clock }
Mock Start-Sleep {
    $global:BastionFake.Calls.Add([pscustomobject]@{ Command = 'Start-Sleep'; Arguments = @{ Seconds = $Seconds }; Change = $false })
    $global:BastionFake.Clock = $global:BastionFake.Clock.AddSeconds($Seconds)
}
# IMDSv2: a token, then the instance id.
Mock Invoke-RestMethod { if ("$Method" -eq 'Put') { 'imds-token' } else { $global:BastionFake.InstanceId } }
# Downloads are served from local files.
Mock Invoke-WebRequest {
    $source = $global:BastionFake.Downloads["$($Uri.OriginalString)"]
    if (-not $source) { throw "Response status code does not indicate success: 404 (Not Found). $Uri" }
    Copy-Item -Path $source -Destination $OutFile
}
# The AD: drive and ACL APIs exist only on Windows: Configure-AD.ps1's ACL step is replaced by the fake ACL store.
Mock Open-ADDrive { }
Mock Add-AceIfMissing { Add-FakeAce -DistinguishedName $DistinguishedName -Sid $Sid -Rights $Rights -ObjectType $ObjectType }
# Invoke-BastionSetup.ps1's bounded background job: run here (the fakes live in this process), recording the bound.
Mock Invoke-Bounded {
    $global:BastionFake.Calls.Add([pscustomobject]@{ Command = 'Invoke-Bounded'; Arguments = @{ What = $What; Seconds = $Seconds }; Change = $false })
    & $ScriptBlock @ArgumentList
}
