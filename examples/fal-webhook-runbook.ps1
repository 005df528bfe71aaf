<#
.SYNOPSIS
  Azure Automation runbook that fal starts through its webhook when a video request finishes: it verifies the
  delivery and saves the video. Nothing polls.
.DESCRIPTION
  Set-up (docs/webhooks.md has the whole pattern):
  1. Import the FalVideo module into the Automation account (PowerShell 7.4 runtime) and publish this runbook.
  2. Add a webhook to the runbook; Azure shows its URL once (it holds the webhook's token): keep it as a secret.
  3. Submit requests with that URL as the webhook URL (?fal_webhook= on fal's queue).
  When a request finishes, fal POSTs its outcome to the Automation webhook, which starts this runbook with
  $WebhookData (RequestBody, RequestHeader; PowerShell 7 runbooks get it as JSON text). Receive-FalWebhook checks
  fal's Ed25519 signature and the timestamp, records the job in the job store and outputs it; Save-FalVideo
  downloads the video to -OutputDirectory. A delivery that is not fal's stops the runbook with FalWebhookInvalid
  (the job fails, visibly, in the Automation account); a failed request is reported as a FalJobFailed error.
  From there, copy the file where it must live (a storage account, SharePoint...): the runbook's sandbox is temporary.
.EXAMPLE
  # What Azure Automation does when fal calls the runbook's webhook:
  ./examples/fal-webhook-runbook.ps1 -WebhookData $webhookDataJson
#>
param(
    # Filled in by Azure Automation when the runbook is started by its webhook.
    [Parameter(Mandatory = $false)]
    [object] $WebhookData,
    # Where the video is saved: the sandbox's temporary folder unless told otherwise.
    [string] $OutputDirectory = [IO.Path]::GetTempPath(),
    # Seconds between fal's signature and this check that are accepted. Automation may start the runbook minutes
    # after fal's POST: raise it when deliveries are refused as too old.
    [int] $MaxAgeSeconds = 600
)

$ErrorActionPreference = 'Stop'
if (-not $WebhookData) {
    throw 'This runbook is started by its webhook, which fal calls when a request finishes; $WebhookData is empty.'
}

Import-Module FalVideo

# The job store of a sandbox lasts as long as the runbook job; an Automation variable can name a lasting one
# (a file share, say). Save-FalVideo's client wants a fal key even for a plain download: an encrypted variable
# FAL_KEY provides it when the account has one.
if (Get-Command Get-AutomationVariable -ErrorAction SilentlyContinue) {
    $env:FAL_KEY = Get-AutomationVariable -Name 'FAL_KEY'
}

$job = $WebhookData | Receive-FalWebhook -MaxAgeSeconds $MaxAgeSeconds
if ($job) {
    $file = $job | Save-FalVideo -Directory $OutputDirectory
    "Saved request $($job.RequestId) to $($file.Path) ($($file.Size) bytes)"
}
