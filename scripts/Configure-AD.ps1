<#
.SYNOPSIS
    Creates, if missing, the AD objects gMSA for Linux containers needs, and repairs them when they drift.

.DESCRIPTION
    Works from a host that is not joined to the domain: every call passes -Server and -Credential.
      - the security group -GmsaPrincipalsGroup, whose members may retrieve the gMSA's password;
      - the gMSA -GmsaName (DNS host name, SPNs host/<name> and host/<name>.<domain>);
      - domainless mode (-DomainlessUser): the user credentials-fetcher signs in as, member of the group;
      - -DomainJoinUser: the user SSM seamless domain join signs in as. It may join computers (AWS delegated group,
        plus create/delete computer objects in the delegated Computers OU so the 10-computer quota does not apply)
        and write the group's `member` attribute, so a joined ECS host can add itself to the group. Nothing more.
    Users are created in the delegated OU's Users OU (OU=Users,OU=<NetBIOS>,...), explicitly.
    Re-running changes nothing that is already right: it checks before it writes.

.PARAMETER DomainName
    DNS name of the directory, e.g. directory.amazon-ecs-gmsa-linux.com.

.PARAMETER Credential
    The directory's admin account (DIRECTORY\admin).

.PARAMETER GmsaName
    Name of the gMSA the web app runs as.

.PARAMETER GmsaPrincipalsGroup
    AD group allowed to retrieve the gMSA's password.

.PARAMETER DomainlessUser
    Domainless mode only: user name and password of the identity secret; the user is created in the directory's
    delegated OU and added to the group.

.PARAMETER DomainJoinUser
    User name and password of the seamless-domain-join secret; the user may join computers and change the group's
    members.

.EXAMPLE
    $admin = Get-Credential -UserName "admin@directory.amazon-ecs-gmsa-linux.com" -Message 'AD admin'
    .\Configure-AD.ps1 -DomainName directory.amazon-ecs-gmsa-linux.com -Credential $admin
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string] $DomainName,

    [Parameter(Mandatory = $true)]
    [System.Management.Automation.PSCredential] $Credential,

    [string] $GmsaName = 'SampleWebApp',

    [string] $GmsaPrincipalsGroup = 'SampleWebAppGmsaPrincipals',

    # Domainless mode only: user name and password of the identity secret.
    [System.Management.Automation.PSCredential] $DomainlessUser,

    # User name and password of the seamless-domain-join secret.
    [System.Management.Automation.PSCredential] $DomainJoinUser
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
Import-Module ActiveDirectory

# AWS Managed Microsoft AD: members may join computers to the domain (delegated group created with the directory).
$JoinComputersGroup = 'AWS Delegated Add Workstations To Domain Users'
# schemaIDGUIDs from the AD schema: the `member` attribute and the `computer` class.
$MemberAttributeGuid = [Guid]'bf9679c0-0de6-11d0-a285-00aa003049e2'
$ComputerClassGuid = [Guid]'bf967a86-0de6-11d0-a285-00aa003049e2'

# Every call goes to the PDC emulator: an object created on one domain controller may not have replicated to
# another one yet when the next call looks it up.
$domain = Get-ADDomain -Server $DomainName -Credential $Credential
$ad = @{ Server = $domain.PDCEmulator; Credential = $Credential }
$delegatedOu = "OU=$($domain.NetBIOSName),$($domain.DistinguishedName)"
$usersOu = "OU=Users,$delegatedOu"
if (-not (Get-ADOrganizationalUnit -Filter "DistinguishedName -eq '$usersOu'" @ad)) { $usersOu = $delegatedOu }
$computersOu = "OU=Computers,$delegatedOu"
if (-not (Get-ADOrganizationalUnit -Filter "DistinguishedName -eq '$computersOu'" @ad)) { $computersOu = $delegatedOu }

function Test-UserPassword {
    # True when the directory accepts the credential: the password needs no reset.
    param([System.Management.Automation.PSCredential] $User)
    try {
        $upn = New-Object System.Management.Automation.PSCredential("$($User.UserName)@$DomainName", $User.Password)
        Get-ADDomain -Server $ad.Server -Credential $upn | Out-Null
        return $true
    }
    catch {
        return $false
    }
}

function Set-ServiceUser {
    # Creates the user, or brings its password, state and group membership back to what they must be.
    param([System.Management.Automation.PSCredential] $User, [string] $Description, [string[]] $MemberOf)
    $name = $User.UserName
    $existing = Get-ADUser -Filter "SamAccountName -eq '$name'" @ad
    if (-not $existing) {
        New-ADUser -Name $name -SamAccountName $name -UserPrincipalName "$name@$DomainName" -Path $usersOu `
            -Description $Description -AccountPassword $User.Password -Enabled $true `
            -PasswordNeverExpires $true -CannotChangePassword $true @ad
        Write-Output "Created user $name in $usersOu."
    }
    else {
        if (-not $existing.Enabled) {
            Enable-ADAccount -Identity $existing @ad
            Write-Output "Enabled user $name."
        }
        if (-not (Test-UserPassword -User $User)) {
            Set-ADAccountPassword -Identity $existing -Reset -NewPassword $User.Password @ad
            Write-Output "Reset the password of $name to the secret's value."
        }
        else {
            Write-Output "User $name exists with the secret's password."
        }
    }
    # (PowerShell names are case-insensitive: this must not be called $memberOf.)
    $currentGroups = @((Get-ADUser -Identity $name -Properties MemberOf @ad).MemberOf)
    foreach ($groupName in $MemberOf) {
        if ($currentGroups -notcontains (Get-ADGroup -Identity $groupName @ad).DistinguishedName) {
            Add-ADGroupMember -Identity $groupName -Members $name @ad
            Write-Output "Added $name to $groupName."
        }
    }
}

function Open-ADDrive {
    # The AD: drive Get-Acl/Set-Acl work on (ActiveDirectory provider, Windows only), bound to the PDC emulator.
    New-PSDrive -Name ADConfigure -PSProvider ActiveDirectory -Root '//RootDSE/' -Server $ad.Server `
        -Credential $Credential -Scope Script | Out-Null
}

function Add-AceIfMissing {
    # Adds an allow rule to an AD object's ACL unless an equal rule is already there.
    param([string] $DistinguishedName, [System.Security.Principal.SecurityIdentifier] $Sid,
        [System.DirectoryServices.ActiveDirectoryRights] $Rights, [Guid] $ObjectType,
        [System.DirectoryServices.ActiveDirectorySecurityInheritance] $Inheritance, [Guid] $InheritedObjectType)
    $path = "ADConfigure:\$DistinguishedName"
    $acl = Get-Acl -Path $path
    # Rules as SIDs: this host is not joined, so it could not translate them to names.
    $present = @($acl.GetAccessRules($true, $false, [System.Security.Principal.SecurityIdentifier]) | Where-Object {
            $_.IdentityReference.Value -eq $Sid.Value -and $_.AccessControlType -eq 'Allow' -and
            $_.ObjectType -eq $ObjectType -and (($_.ActiveDirectoryRights -band $Rights) -eq $Rights)
        })
    if ($present.Count -gt 0) {
        Write-Output "ACL of $DistinguishedName already grants $Rights."
        return
    }
    $rule = New-Object System.DirectoryServices.ActiveDirectoryAccessRule(
        $Sid, $Rights, [System.Security.AccessControl.AccessControlType]::Allow, $ObjectType, $Inheritance, $InheritedObjectType)
    $acl.AddAccessRule($rule)
    Set-Acl -Path $path -AclObject $acl
    Write-Output "Granted $Rights on $DistinguishedName."
}

# 1. The group whose members may retrieve the gMSA's password.
$group = Get-ADGroup -Filter "SamAccountName -eq '$GmsaPrincipalsGroup'" @ad
if (-not $group) {
    New-ADGroup -Name $GmsaPrincipalsGroup -SamAccountName $GmsaPrincipalsGroup -GroupScope Global `
        -GroupCategory Security -Path $usersOu -Description "May retrieve the password of the gMSA $GmsaName" @ad
    $group = Get-ADGroup -Identity $GmsaPrincipalsGroup @ad
    Write-Output "Created group $GmsaPrincipalsGroup."
}
else {
    Write-Output "Group $GmsaPrincipalsGroup exists."
}

# 2. The gMSA. https://learn.microsoft.com/virtualization/windowscontainers/manage-containers/manage-serviceaccounts
$gmsaDnsHostName = "$GmsaName.$DomainName"
$spns = @("host/$GmsaName", "host/$gmsaDnsHostName")
$gmsaProperties = @('DNSHostName', 'ServicePrincipalNames', 'PrincipalsAllowedToRetrieveManagedPassword')
$gmsa = Get-ADServiceAccount -Filter "Name -eq '$GmsaName'" -Properties $gmsaProperties @ad
if (-not $gmsa) {
    New-ADServiceAccount -Name $GmsaName -DNSHostName $gmsaDnsHostName -ServicePrincipalNames $spns `
        -PrincipalsAllowedToRetrieveManagedPassword $GmsaPrincipalsGroup @ad
    Write-Output "Created gMSA $GmsaName."
}
else {
    $allowed = @($gmsa.PrincipalsAllowedToRetrieveManagedPassword)
    if ($allowed -notcontains $group.DistinguishedName) {
        Set-ADServiceAccount -Identity $gmsa -PrincipalsAllowedToRetrieveManagedPassword $GmsaPrincipalsGroup @ad
        Write-Output "Set the principals allowed to retrieve the password of $GmsaName to $GmsaPrincipalsGroup."
    }
    $missingSpns = @($spns | Where-Object { @($gmsa.ServicePrincipalNames) -notcontains $_ })
    if ($missingSpns.Count -gt 0) {
        Set-ADServiceAccount -Identity $gmsa -ServicePrincipalNames @{ Add = $missingSpns } @ad
        Write-Output "Added SPNs $($missingSpns -join ', ') to $GmsaName."
    }
    Write-Output "gMSA $GmsaName exists."
}

# 3. Domainless mode: the identity credentials-fetcher uses to retrieve the gMSA's password.
if ($DomainlessUser) {
    Set-ServiceUser -User $DomainlessUser -MemberOf @($GmsaPrincipalsGroup) `
        -Description 'credentials-fetcher identity (domainless gMSA); password in Secrets Manager'
}

# 4. The domain-join user: joins hosts, then lets each joined host add itself to the gMSA group.
if ($DomainJoinUser) {
    Set-ServiceUser -User $DomainJoinUser -MemberOf @($JoinComputersGroup) `
        -Description 'SSM seamless domain join; may add computers to the gMSA group'
    $joinSid = (Get-ADUser -Identity $DomainJoinUser.UserName @ad).SID
    Open-ADDrive
    try {
        $none = [System.DirectoryServices.ActiveDirectorySecurityInheritance]::None
        $all = [System.DirectoryServices.ActiveDirectorySecurityInheritance]::All
        # Write the `member` attribute of the gMSA group only (adcli add-member from the joined ECS host).
        Add-AceIfMissing -DistinguishedName $group.DistinguishedName -Sid $joinSid `
            -Rights ([System.DirectoryServices.ActiveDirectoryRights]::WriteProperty) `
            -ObjectType $MemberAttributeGuid -Inheritance $none -InheritedObjectType ([Guid]::Empty)
        # Create and delete computer objects in the Computers OU: without it the join user hits the 10-computer
        # quota (ms-DS-MachineAccountQuota) after ten host replacements. Not fatal: joins work until then.
        try {
            Add-AceIfMissing -DistinguishedName $computersOu -Sid $joinSid `
                -Rights ([System.DirectoryServices.ActiveDirectoryRights]'CreateChild, DeleteChild') `
                -ObjectType $ComputerClassGuid -Inheritance $all -InheritedObjectType ([Guid]::Empty)
        }
        catch {
            Write-Output "WARNING: could not delegate computer creation on ${computersOu}: $($_.Exception.Message)"
        }
    }
    finally {
        Remove-PSDrive -Name ADConfigure -ErrorAction SilentlyContinue
    }
}

Write-Output 'Active Directory is configured.'
