# Receive-FalWebhook in a real pwsh: the emulator POSTs a signed webhook to an HttpListener in this session, and
# the cmdlet verifies it (with the emulator's JWKS, as FALVIDEO_BASE_URL points there), records and saves the job,
# and refuses a changed delivery.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    Initialize-FalTest -EmulatorArguments @('--webhook-retry-seconds', '0.2')
    $kling = 'fal-ai/kling-video/v3/pro/text-to-video'

    # Submits a Kling job whose outcome the emulator POSTs to a listener here; returns the request id and the
    # delivery (its raw body and the listener's NameValueCollection of headers).
    function Receive-TestDelivery([string] $Prompt = 'A lighthouse at dusk') {
        $listener = [System.Net.HttpListener]::new()
        $hook = "http://127.0.0.1:$(Get-FreeLoopbackPort)/fal/webhook/"
        $listener.Prefixes.Add($hook)
        $listener.Start()
        try {
            $submit = Invoke-RestMethod -Method Post -Uri "$script:BaseUrl/${kling}?fal_webhook=$([uri]::EscapeDataString($hook))" `
                -Headers @{ Authorization = 'Key pester-key' } -ContentType 'application/json' `
                -Body (@{ prompt = $Prompt; duration = '5'; generate_audio = $false } | ConvertTo-Json)
            $pending = $listener.GetContextAsync()
            if (-not $pending.Wait([TimeSpan]::FromSeconds(30))) { throw "No webhook reached $hook within 30 s." }
            $context = $pending.Result
            $reader = [System.IO.StreamReader]::new($context.Request.InputStream, [System.Text.Encoding]::UTF8)
            $body = $reader.ReadToEnd()
            $reader.Dispose()
            $headers = [System.Collections.Specialized.NameValueCollection]::new($context.Request.Headers)
            $context.Response.StatusCode = 200
            $context.Response.Close()
            [pscustomobject]@{ RequestId = $submit.request_id; Body = $body; Headers = $headers }
        }
        finally { $listener.Close() }
    }
}

AfterAll { Complete-FalTest }

Describe 'Receive-FalWebhook' {
    It 'verifies the emulator''s delivery, records the job completed and pipes it into Save-FalVideo' {
        $delivery = Receive-TestDelivery
        $job = Receive-FalWebhook -Body $delivery.Body -Header $delivery.Headers
        $job.RequestId | Should -Be $delivery.RequestId
        $job.Status | Should -Be 'Completed'
        $job.VideoUrl | Should -BeLike "$script:BaseUrl/cdn/*"
        $job.Webhook.Status | Should -Be 'OK'
        $job.Webhook.UserId | Should -Be 'emulator-user'

        $file = $job | Save-FalVideo -Directory ./hooked
        $file.Size | Should -Be $job.VideoSize
        (Get-FalJob -Status Completed | Where-Object RequestId -eq $delivery.RequestId).VideoUrl | Should -Be $job.VideoUrl
    }

    It 'takes the headers as a hashtable and Azure Automation''s $WebhookData as an object' {
        $delivery = Receive-TestDelivery
        $table = @{}
        foreach ($name in $delivery.Headers.AllKeys) { $table[$name.ToLowerInvariant()] = $delivery.Headers[$name] }
        (Receive-FalWebhook -Body $delivery.Body -Header $table).RequestId | Should -Be $delivery.RequestId
        $webhookData = [pscustomobject]@{ WebhookName = 'fal-done'; RequestBody = $delivery.Body; RequestHeader = [pscustomobject]$table }
        ($webhookData | Receive-FalWebhook).RequestId | Should -Be $delivery.RequestId
    }

    It 'refuses a changed body or user id with FalWebhookInvalid and records nothing' {
        $delivery = Receive-TestDelivery -Prompt 'Not to be trusted'
        { Receive-FalWebhook -Body ($delivery.Body -replace '"OK"', '"ERROR"') -Header $delivery.Headers } |
            Should -Throw -ErrorId 'FalWebhookInvalid,FalVideo.PowerShell.Cmdlets.ReceiveFalWebhookCommand'
        $otherUser = [System.Collections.Specialized.NameValueCollection]::new($delivery.Headers)
        $otherUser['X-Fal-Webhook-User-Id'] = 'someone-else'
        { Receive-FalWebhook -Body $delivery.Body -Header $otherUser } | Should -Throw -ErrorId 'FalWebhookInvalid,FalVideo.PowerShell.Cmdlets.ReceiveFalWebhookCommand'
        Get-FalJob | Where-Object RequestId -eq $delivery.RequestId | Should -BeNullOrEmpty
    }

    It 'refuses a delivery checked against another key set' {
        $delivery = Receive-TestDelivery
        $other = Start-TestEmulator
        try {
            { Receive-FalWebhook -Body $delivery.Body -Header $delivery.Headers -JwksUrl "$($other.Url)/.well-known/jwks.json" } |
                Should -Throw -ErrorId 'FalWebhookInvalid,FalVideo.PowerShell.Cmdlets.ReceiveFalWebhookCommand'
        }
        finally { Stop-Process -Id $other.Process.Id -ErrorAction Ignore }
    }

    It 'has help with examples' {
        $help = Get-Help Receive-FalWebhook -Full
        $help.Synopsis | Should -Match 'webhook'
        @($help.examples.example).Count | Should -BeGreaterOrEqual 2
    }
}
