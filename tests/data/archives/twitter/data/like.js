window.YTD.like.part0 = [
  {
    "like" : {
      "tweetId" : "20",
      "fullText" : "just setting up my twttr",
      "expandedUrl" : "https://twitter.com/i/web/status/20"
    }
  }
]
