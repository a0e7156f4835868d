window.YTD.note_tweet.part0 = [
  {
    "noteTweet" : {
      "noteTweetId" : "1730000000000000990",
      "createdAt" : "2023-12-05T18:30:12.000Z",
      "updatedAt" : "2023-12-05T18:30:12.000Z",
      "lifecycle" : {
        "value" : "1",
        "name" : "Active"
      },
      "core" : {
        "text" : "Compte rendu de la réunion publique sur l'énergie à Nantes : plus de deux cents personnes, des questions précises sur le réseau de chaleur, les tarifs et le calendrier des travaux. La mairie s'est engagée à publier les chiffres avant la fin du mois. Merci à @PaulMartin pour la modération ! #énergie #Nantes https://t.co/abc123",
        "urls" : [
          {
            "shortUrl" : "https://t.co/abc123",
            "expandedUrl" : "https://www.nantes.fr/reunion-energie",
            "displayUrl" : "nantes.fr/reunion-energie"
          }
        ],
        "mentions" : [
          {
            "screenName" : "PaulMartin",
            "fromIndex" : "0",
            "toIndex" : "1"
          }
        ],
        "hashtags" : [
          {
            "hashtag" : "énergie"
          },
          {
            "hashtag" : "Nantes"
          }
        ],
        "cashtags" : [],
        "styletags" : []
      }
    }
  },
  {
    "noteTweet" : {
      "noteTweetId" : "1730000000000000991",
      "createdAt" : "2023-12-05T18:45:00.000Z",
      "updatedAt" : "2023-12-05T18:45:00.000Z",
      "lifecycle" : {
        "value" : "1",
        "name" : "Active"
      },
      "core" : {
        "text" : "Thread summary in English: the council answered every question about the heat network, costs and the timeline, and promised to publish the figures before the end of the month. Next meeting in December, details on the city's site. Thanks to everyone who came and asked hard questions tonight. #energy",
        "urls" : [],
        "mentions" : [],
        "hashtags" : [
          {
            "hashtag" : "energy"
          }
        ],
        "cashtags" : [],
        "styletags" : []
      }
    }
  },
  {
    "noteTweet" : {
      "noteTweetId" : "1730000000000000992",
      "createdAt" : "2023-11-01T10:00:00.000Z",
      "core" : {
        "text" : "A long post that was deleted since. A long post that was deleted since. A long post that was deleted since. A long post that was deleted since. A long post that was deleted since. A long post that was deleted since. A long post that was deleted since. A long post that was deleted since. A long post that was deleted since. A long post that was deleted since. ",
        "urls" : [],
        "mentions" : [],
        "hashtags" : []
      }
    }
  }
]