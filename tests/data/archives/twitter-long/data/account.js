window.YTD.account.part0 = [
  {
    "account" : {
      "email" : "long.canary@example.org",
      "createdVia" : "web",
      "username" : "LaureDupont",
      "accountId" : "1234567890123456789",
      "createdAt" : "2019-03-12T17:36:04.000Z",
      "accountDisplayName" : "Laure Dupont"
    }
  }
]