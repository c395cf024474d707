<#
    Fake of the ActiveDirectory module for the Pester suites: the commands the bastion scripts call, on the
    directory held in $global:BastionFake.Directory (see ../../FakeWorld.psm1). It answers like AWS Managed AD:
    -Server/-Credential on every call, the admin's credential, errors when an identity does not exist.
#>
Set-StrictMode -Version 3.0

function Get-FakeDirectory { $global:BastionFake.Directory }

function Assert-FakeDirectoryAccess {
    # Refuses the call unless the directory answers and the credential is the admin's.
    param([string] $Server, [pscredential] $Credential)
    $dir = Get-FakeDirectory
    if (-not $dir.Answers) { throw "Unable to contact the server. This may be because this server does not exist, it is currently down, or it does not have the Active Directory Web Services running." }
    if (-not $Server) { throw 'fake ActiveDirectory: every call must pass -Server (the instance is not joined).' }
    $sam = ($Credential.UserName -split '@')[0]
    $password = $Credential.GetNetworkCredential().Password
    $known = if ($sam -eq 'admin') { $dir.AdminPassword } elseif ($dir.Users.ContainsKey($sam)) { $dir.Users[$sam].Password } else { $null }
    if ($null -eq $known -or $known -cne $password) { throw 'The server has rejected the client credentials.' }
}

function Get-FilterValue {
    # "Name -eq 'value'" -> value (the only filter shape the scripts use).
    param([string] $Filter, [string] $Attribute)
    if ($Filter -notmatch "^$Attribute -eq '(.*)'$") { throw "fake ActiveDirectory: unsupported filter '$Filter'." }
    $Matches[1]
}

function Get-IdentityName {
    param($Identity)
    if ($Identity -is [string]) { return $Identity }
    foreach ($p in 'SamAccountName', 'Name') { if ($Identity.PSObject.Properties[$p]) { return $Identity.$p } }
    throw "fake ActiveDirectory: cannot resolve identity '$Identity'."
}

function Get-ADDomain {
    [CmdletBinding()]
    param([string] $Server, [pscredential] $Credential)
    $global:BastionFake.Calls.Add([pscustomobject]@{ Command = 'Get-ADDomain'; Arguments = @{ Server = $Server }; Change = $false })
    Assert-FakeDirectoryAccess -Server $Server -Credential $Credential
    (Get-FakeDirectory).Domain
}

function Get-ADOrganizationalUnit {
    [CmdletBinding()]
    param([string] $Filter, [string] $Server, [pscredential] $Credential)
    Assert-FakeDirectoryAccess -Server $Server -Credential $Credential
    $dn = Get-FilterValue -Filter $Filter -Attribute 'DistinguishedName'
    if ((Get-FakeDirectory).OUs -contains $dn) { [pscustomobject]@{ DistinguishedName = $dn } }
}

function ConvertTo-FakeUser {
    param([hashtable] $User)
    [pscustomobject]@{
        SamAccountName    = $User.SamAccountName
        DistinguishedName = $User.DistinguishedName
        Enabled           = $User.Enabled
        SID               = $User.SID
        MemberOf          = @($User.MemberOf)
    }
}

function Get-ADUser {
    [CmdletBinding()]
    param([string] $Filter, $Identity, [string[]] $Properties, [string] $Server, [pscredential] $Credential)
    Assert-FakeDirectoryAccess -Server $Server -Credential $Credential
    $users = (Get-FakeDirectory).Users
    if ($Filter) {
        $name = Get-FilterValue -Filter $Filter -Attribute 'SamAccountName'
        if ($users.ContainsKey($name)) { ConvertTo-FakeUser $users[$name] }
        return
    }
    $name = Get-IdentityName $Identity
    if (-not $users.ContainsKey($name)) { throw "Cannot find an object with identity: '$name'." }
    ConvertTo-FakeUser $users[$name]
}

function New-ADUser {
    [CmdletBinding()]
    param([string] $Name, [string] $SamAccountName, [string] $UserPrincipalName, [string] $Path, [string] $Description,
        [securestring] $AccountPassword, [bool] $Enabled, [bool] $PasswordNeverExpires, [bool] $CannotChangePassword,
        [string] $Server, [pscredential] $Credential)
    Assert-FakeDirectoryAccess -Server $Server -Credential $Credential
    $dir = Get-FakeDirectory
    if ($dir.OUs -notcontains $Path) { throw "Directory object not found: '$Path'." }
    $dir.NextRid++
    $dir.Users[$SamAccountName] = @{
        SamAccountName    = $SamAccountName
        DistinguishedName = "CN=$Name,$Path"
        Enabled           = $Enabled
        Password          = [pscredential]::new('x', $AccountPassword).GetNetworkCredential().Password
        SID               = "$($dir.Domain.DomainSID.Value)-$($dir.NextRid)"
        MemberOf          = [System.Collections.Generic.List[string]]::new()
    }
    $global:BastionFake.Calls.Add([pscustomobject]@{ Command = 'New-ADUser'; Arguments = @{ Name = $Name; Path = $Path }; Change = $true })
}

function Enable-ADAccount {
    [CmdletBinding()]
    param($Identity, [string] $Server, [pscredential] $Credential)
    Assert-FakeDirectoryAccess -Server $Server -Credential $Credential
    (Get-FakeDirectory).Users[(Get-IdentityName $Identity)].Enabled = $true
    $global:BastionFake.Calls.Add([pscustomobject]@{ Command = 'Enable-ADAccount'; Arguments = @{}; Change = $true })
}

function Set-ADAccountPassword {
    [CmdletBinding()]
    param($Identity, [switch] $Reset, [securestring] $NewPassword, [string] $Server, [pscredential] $Credential)
    Assert-FakeDirectoryAccess -Server $Server -Credential $Credential
    (Get-FakeDirectory).Users[(Get-IdentityName $Identity)].Password = [pscredential]::new('x', $NewPassword).GetNetworkCredential().Password
    $global:BastionFake.Calls.Add([pscustomobject]@{ Command = 'Set-ADAccountPassword'; Arguments = @{}; Change = $true })
}

function Get-ADGroup {
    [CmdletBinding()]
    param([string] $Filter, $Identity, [string] $Server, [pscredential] $Credential)
    Assert-FakeDirectoryAccess -Server $Server -Credential $Credential
    $groups = (Get-FakeDirectory).Groups
    $name = if ($Filter) { Get-FilterValue -Filter $Filter -Attribute 'SamAccountName' } else { Get-IdentityName $Identity }
    if ($groups.ContainsKey($name)) { return [pscustomobject]@{ SamAccountName = $name; DistinguishedName = $groups[$name].DistinguishedName } }
    if (-not $Filter) { throw "Cannot find an object with identity: '$name'." }
}

function New-ADGroup {
    [CmdletBinding()]
    param([string] $Name, [string] $SamAccountName, [string] $GroupScope, [string] $GroupCategory, [string] $Path,
        [string] $Description, [string] $Server, [pscredential] $Credential)
    Assert-FakeDirectoryAccess -Server $Server -Credential $Credential
    (Get-FakeDirectory).Groups[$SamAccountName] = @{ DistinguishedName = "CN=$Name,$Path"; Scope = $GroupScope; Category = $GroupCategory }
    $global:BastionFake.Calls.Add([pscustomobject]@{ Command = 'New-ADGroup'; Arguments = @{ Name = $Name; Path = $Path }; Change = $true })
}

function Get-FakePrincipal {
    # A user by SamAccountName, or a computer by SamAccountName (NAME$) or Name.
    param([string] $Name)
    $dir = Get-FakeDirectory
    if ($dir.Users.ContainsKey($Name)) { return $dir.Users[$Name] }
    $computer = $dir.Computers.Values | Where-Object { $_.SamAccountName -eq $Name -or $_.Name -eq $Name } | Select-Object -First 1
    if (-not $computer) { throw "Cannot find an object with identity: '$Name'." }
    $computer
}

function Get-ADComputer {
    [CmdletBinding()]
    param([string] $Filter, [string] $Server, [pscredential] $Credential)
    Assert-FakeDirectoryAccess -Server $Server -Credential $Credential
    $name = Get-FilterValue -Filter $Filter -Attribute 'Name'
    $computers = (Get-FakeDirectory).Computers
    if ($computers.ContainsKey($name)) {
        $c = $computers[$name]
        [pscustomobject]@{ Name = $c.Name; SamAccountName = $c.SamAccountName; DistinguishedName = $c.DistinguishedName }
    }
}

function Get-ADGroupMember {
    # The users and computers whose MemberOf holds the group.
    [CmdletBinding()]
    param($Identity, [string] $Server, [pscredential] $Credential)
    Assert-FakeDirectoryAccess -Server $Server -Credential $Credential
    $dir = Get-FakeDirectory
    $name = Get-IdentityName $Identity
    if (-not $dir.Groups.ContainsKey($name)) { throw "Cannot find an object with identity: '$name'." }
    $dn = $dir.Groups[$name].DistinguishedName
    foreach ($principal in @($dir.Users.Values) + @($dir.Computers.Values)) {
        if ($principal.MemberOf -contains $dn) {
            [pscustomobject]@{ SamAccountName = $principal.SamAccountName; DistinguishedName = $principal.DistinguishedName }
        }
    }
}

function Add-ADGroupMember {
    [CmdletBinding()]
    param($Identity, $Members, [string] $Server, [pscredential] $Credential)
    Assert-FakeDirectoryAccess -Server $Server -Credential $Credential
    $dir = Get-FakeDirectory
    $group = $dir.Groups[(Get-IdentityName $Identity)]
    foreach ($member in @($Members)) { (Get-FakePrincipal (Get-IdentityName $member)).MemberOf.Add($group.DistinguishedName) }
    $global:BastionFake.Calls.Add([pscustomobject]@{ Command = 'Add-ADGroupMember'; Arguments = @{ Identity = "$Identity"; Members = "$Members" }; Change = $true })
}

function ConvertTo-FakeServiceAccount {
    param([hashtable] $Account)
    [pscustomobject]@{
        Name                                       = $Account.Name
        SamAccountName                             = "$($Account.Name)`$"
        DNSHostName                                = $Account.DNSHostName
        ServicePrincipalNames                      = @($Account.ServicePrincipalNames)
        PrincipalsAllowedToRetrieveManagedPassword = @($Account.PrincipalsAllowedToRetrieveManagedPassword)
    }
}

function Get-ADServiceAccount {
    [CmdletBinding()]
    param([string] $Filter, [string[]] $Properties, [string] $Server, [pscredential] $Credential)
    Assert-FakeDirectoryAccess -Server $Server -Credential $Credential
    $name = Get-FilterValue -Filter $Filter -Attribute 'Name'
    $accounts = (Get-FakeDirectory).ServiceAccounts
    if ($accounts.ContainsKey($name)) { ConvertTo-FakeServiceAccount $accounts[$name] }
}

function Resolve-FakePrincipals {
    param($Principals)
    $dir = Get-FakeDirectory
    @($Principals) | ForEach-Object { $dir.Groups[(Get-IdentityName $_)].DistinguishedName }
}

function New-ADServiceAccount {
    [CmdletBinding()]
    param([string] $Name, [string] $DNSHostName, [string[]] $ServicePrincipalNames, $PrincipalsAllowedToRetrieveManagedPassword,
        [string] $Server, [pscredential] $Credential)
    Assert-FakeDirectoryAccess -Server $Server -Credential $Credential
    (Get-FakeDirectory).ServiceAccounts[$Name] = @{
        Name                                       = $Name
        DNSHostName                                = $DNSHostName
        ServicePrincipalNames                      = [System.Collections.Generic.List[string]]::new([string[]]$ServicePrincipalNames)
        PrincipalsAllowedToRetrieveManagedPassword = @(Resolve-FakePrincipals $PrincipalsAllowedToRetrieveManagedPassword)
    }
    $global:BastionFake.Calls.Add([pscustomobject]@{ Command = 'New-ADServiceAccount'; Arguments = @{ Name = $Name }; Change = $true })
}

function Set-ADServiceAccount {
    [CmdletBinding()]
    param($Identity, $PrincipalsAllowedToRetrieveManagedPassword, [hashtable] $ServicePrincipalNames,
        [string] $Server, [pscredential] $Credential)
    Assert-FakeDirectoryAccess -Server $Server -Credential $Credential
    $name = if ($Identity -is [string]) { $Identity } else { $Identity.Name }
    $account = (Get-FakeDirectory).ServiceAccounts[$name]
    if (-not $account) { throw "Cannot find an object with identity: '$name'." }
    if ($PSBoundParameters.ContainsKey('PrincipalsAllowedToRetrieveManagedPassword')) {
        $account.PrincipalsAllowedToRetrieveManagedPassword = @(Resolve-FakePrincipals $PrincipalsAllowedToRetrieveManagedPassword)
    }
    if ($ServicePrincipalNames) { foreach ($spn in $ServicePrincipalNames.Add) { $account.ServicePrincipalNames.Add($spn) } }
    $global:BastionFake.Calls.Add([pscustomobject]@{ Command = 'Set-ADServiceAccount'; Arguments = @{}; Change = $true })
}

Export-ModuleMember -Function Get-ADDomain, Get-ADOrganizationalUnit, Get-ADUser, New-ADUser, Enable-ADAccount,
    Set-ADAccountPassword, Get-ADGroup, New-ADGroup, Get-ADGroupMember, Add-ADGroupMember, Get-ADComputer, Get-ADServiceAccount, New-ADServiceAccount,
    Set-ADServiceAccount
